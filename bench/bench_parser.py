"""Swap-parser throughput: transactions per second parsing decoded JSON on one core.

Every transaction fixture in ../shared/fixtures/solana (json, jsonParsed and base64 encodings),
already ``json.loads``-ed, is parsed repeatedly; the number is what one core sustains.
Run: ``.venv/bin/python bench/bench_parser.py [seconds]``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from engine.errors import MalformedPayload
from engine.sources.solana import load_transactions, parse_transaction

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "solana"


def _transactions() -> list[object]:
    txs: list[object] = []
    for directory in ("getTransaction", "venues", "ws"):
        for path in sorted((FIXTURES / directory).glob("*.json")):
            text = path.read_text()
            try:
                payload = json.loads(text)
            except ValueError:
                payload = json.loads("[" + text.strip().rstrip(",") + "]")
            try:
                txs.extend(load_transactions(payload))
            except MalformedPayload:
                continue
    return txs


def main(seconds: float = 3.0) -> float:
    txs = _transactions()
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for tx in txs:
            try:
                parse_transaction(tx)  # type: ignore[arg-type]
            except MalformedPayload:
                pass
        done += len(txs)
    rate = done / (time.perf_counter() - start)
    sys.stdout.write(f"{len(txs)} fixture transactions, {rate:,.0f} tx/s on one core\n")
    return rate


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
