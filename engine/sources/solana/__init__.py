"""Solana sources: swap parsing from ``getTransaction`` results (``engine.sources.solana.parser``)."""

from __future__ import annotations

from engine.sources.solana.parser import (
    ParsedTrade,
    load_transactions,
    parse_payload_bytes,
    parse_transaction,
)

__all__ = ["ParsedTrade", "load_transactions", "parse_payload_bytes", "parse_transaction"]
