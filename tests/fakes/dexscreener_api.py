"""A fake DexScreener ``GET /tokens/v1/solana/{mints}``: every stored pair whose base or quote
token is one of the mints (at most 30), plus ``extra`` items in every answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

PREFIX = "/tokens/v1/solana/"


class FakeDexScreener:
    def __init__(self, pairs: Sequence[Any] = ()) -> None:
        self.pairs: list[Any] = list(pairs)
        self.extra: list[Any] = []
        self.requested: list[list[str]] = []

    def handle(self, path: str) -> tuple[int, Any]:
        if not path.startswith(PREFIX):
            return 404, {"error": "Not Found"}
        mints = [m for m in unquote(path[len(PREFIX) :].split("?")[0]).split(",") if m]
        if not mints or len(mints) > 30:
            return 400, {"error": "between 1 and 30 token addresses"}
        self.requested.append(mints)
        wanted = set(mints)
        answer = [
            pair
            for pair in self.pairs
            if _address(pair, "baseToken") in wanted or _address(pair, "quoteToken") in wanted
        ]
        return 200, answer + self.extra


def _address(pair: Any, side: str) -> Any:
    token = pair.get(side) if isinstance(pair, dict) else None
    return token.get("address") if isinstance(token, dict) else None
