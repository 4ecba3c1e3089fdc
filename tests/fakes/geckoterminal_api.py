"""A fake GeckoTerminal ``GET /networks/solana/pools/{pool}/ohlcv/{timeframe}``.

Serves, per (pool, timeframe), a stored answer (the real ones in
../shared/fixtures/market/geckoterminal). Like the real API it honours ``before_timestamp``
(candles starting before it) and ``limit`` (the newest ``limit`` of those), newest first; a
payload without a well-formed ``ohlcv_list`` is served as it is (the malformed-payload tests).
Pass it to ``FakeServer(dex=...)``: the server sends every GET to ``handle``.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import parse_qs, urlsplit

PREFIX = "/networks/solana/pools/"


class FakeGeckoTerminal:
    def __init__(self, answers: dict[tuple[str, str], Any] | None = None) -> None:
        self.answers: dict[tuple[str, str], Any] = dict(answers or {})
        self.queries: list[dict[str, str]] = []

    def handle(self, path: str) -> tuple[int, Any]:
        parts = urlsplit(path)
        if not parts.path.startswith(PREFIX):
            return 404, {"errors": [{"status": "404", "title": "Not Found"}]}
        pool, _, timeframe = parts.path[len(PREFIX) :].partition("/ohlcv/")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.queries.append(query)
        answer = self.answers.get((pool, timeframe))
        if answer is None:
            return 404, {"errors": [{"status": "404", "title": "Not Found"}]}
        try:
            rows = answer["data"]["attributes"]["ohlcv_list"]
            if not isinstance(rows, list):
                return 200, answer
            rows = [
                r
                for r in rows
                if "before_timestamp" not in query or r[0] < int(query["before_timestamp"])
            ]
        except (KeyError, TypeError, IndexError):
            return 200, answer
        page = copy.deepcopy(answer)
        page["data"]["attributes"]["ohlcv_list"] = rows[: int(query.get("limit", 100))]
        return 200, page
