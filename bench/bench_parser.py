"""Swap-parser throughput: transactions per second on one core, by encoding.

Every transaction fixture in ../shared/fixtures/solana, already ``json.loads``-ed, is parsed
repeatedly; the number is what one core sustains: transactions per second of this process's CPU
time (``time.process_time``), so that other work sharing the cores slows it less than it slows
the wall clock. Each group is parsed for half a second first (the first passes are slower:
the interpreter's caches fill), then timed in three slices of ``seconds / 3`` of CPU time; the
median slice is printed, with the other two. Two groups:

* **decoded JSON** (the goal of issue 10): results in the ``json`` and ``jsonParsed`` encodings,
  whose instructions are JSON objects;
  printed also by encoding (``of it json``: base58 instruction data that the parser decodes;
  ``jsonParsed``: the node decoded the System and SPL Token instructions);
* **base64**: results whose ``transaction`` is ``[text, "base64"]``, so that each parse also
  decodes the wire message (``wire``: base64, then base58 text for every key and signature).

Run: ``.venv/bin/python bench/bench_parser.py [seconds]``.

``--bytecodes`` prints instead the Python bytecodes one parse of each group executes, per
transaction (``sys.settrace`` with opcode events): a count that a loaded machine does not
change, for telling apart changes smaller than the ~5% by which two processes' rates differ.
It is a guide, not the rate: a bytecode's cost ranges from a few nanoseconds to a C call's.

To compare two trees, run each one's bench with ``PYTHONPATH=<that tree>``: the editable
install otherwise imports the working tree's ``engine`` whichever copy the script is in.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from engine.errors import MalformedPayload
from engine.sources.solana import load_transactions, parse_transaction
from engine.sources.solana.envelopes import decode_payload

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "solana"


def _transactions() -> list[Mapping[str, Any]]:
    txs: list[Mapping[str, Any]] = []
    for directory in ("getTransaction", "venues", "ws"):
        for path in sorted((FIXTURES / directory).glob("*.json")):
            try:
                txs.extend(load_transactions(decode_payload(path.read_bytes())))
            except MalformedPayload:
                continue
    return txs


def _json_parsed(tx: Mapping[str, Any]) -> bool:
    """Whether a decoded result is in ``jsonParsed`` (its keys objects, not strings)."""
    keys = tx["transaction"]["message"]["accountKeys"]
    return bool(keys) and isinstance(keys[0], Mapping)


def _parse_all(txs: list[Mapping[str, Any]]) -> None:
    for tx in txs:
        try:
            parse_transaction(tx)
        except MalformedPayload:
            pass


def _rate(txs: list[Mapping[str, Any]], seconds: float) -> float:
    done = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        _parse_all(txs)
        done += len(txs)
    return done / (time.process_time() - start)


def _bytecodes(txs: list[Mapping[str, Any]]) -> float:
    """Bytecodes executed per transaction by one parse of each (after one untraced pass)."""
    _parse_all(txs)
    executed = 0

    def trace(frame: FrameType, event: str, arg: object) -> Callable[..., object]:
        nonlocal executed
        if event == "call":
            frame.f_trace_opcodes = True
            frame.f_trace_lines = False
        elif event == "opcode":
            executed += 1
        return trace

    sys.settrace(trace)
    try:
        _parse_all(txs)
    finally:
        sys.settrace(None)
    return executed / len(txs)


def _groups() -> dict[str, list[Mapping[str, Any]]]:
    txs = _transactions()
    decoded = [tx for tx in txs if isinstance(tx["transaction"], Mapping)]
    return {
        "decoded JSON": decoded,
        "of it json": [tx for tx in decoded if not _json_parsed(tx)],
        "jsonParsed": [tx for tx in decoded if _json_parsed(tx)],
        "base64": [tx for tx in txs if not isinstance(tx["transaction"], Mapping)],
    }


def bytecodes() -> dict[str, float]:
    """Bytecodes per transaction for each group, also written to stdout."""
    counts: dict[str, float] = {}
    for name, group in _groups().items():
        counts[name] = count = _bytecodes(group)
        sys.stdout.write(
            f"{name:>12}: {len(group):3} fixture transactions, {count:,.0f} bytecodes/tx\n"
        )
    return counts


def main(seconds: float = 3.0) -> dict[str, float]:
    """tx/s for each group (``decoded JSON``, ``base64``), also written to stdout."""
    rates: dict[str, float] = {}
    for name, group in _groups().items():
        _rate(group, 0.5)  # warm-up: the first passes fill the interpreter's caches
        slices = sorted(_rate(group, seconds / 3) for _ in range(3))
        rates[name] = rate = slices[1]
        sys.stdout.write(
            f"{name:>12}: {len(group):3} fixture transactions, {rate:,.0f} tx/s "
            f"(median of 3 slices; range {slices[0]:,.0f}-{slices[2]:,.0f})\n"
        )
    return rates


if __name__ == "__main__":
    if sys.argv[1:] == ["--bytecodes"]:
        bytecodes()
    else:
        main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
