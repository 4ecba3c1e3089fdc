"""Payload envelopes around ``getTransaction`` results: pure functions, no I/O.

A JSON-RPC response (``{"jsonrpc", "result", "id"}``, or its ``error``), a bare result, a list
of either, a Helius ``transactionNotification`` frame (``params.result = {transaction:
{transaction, meta, version}, signature, slot}``, no ``blockTime``: the frames of
ws/helius_transactionNotification_*.json), several such frames written one after another
without brackets (``{...},\n{...}``: ws/…10frames…concatenated.json), and a fixture wrapper
``{"raw": result, "slot", "blockTime"}`` (venues/*.json from jowency-me/solana-tx-parser).
What is inside a result is read by ``engine.sources.solana.parser``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engine.errors import MalformedPayload

__all__ = ["decode_payload", "load_transactions", "one_line"]

_MAX_MESSAGE = 300


def decode_payload(data: bytes) -> Any:
    """``json.loads`` of a payload; frames concatenated without brackets are read as a list."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        return _concatenated(data, exc)


def load_transactions(payload: Any) -> list[Mapping[str, Any]]:
    """The ``getTransaction`` results in a decoded payload.

    Accepts a JSON-RPC response (``{"jsonrpc", "result", "id"}``), a Helius
    ``transactionNotification``, a fixture wrapper ``{"raw": result, "slot", "blockTime"}``, a
    bare result, or a list of any of these. A JSON-RPC error, a null result, or anything that
    is not a transaction raises ``MalformedPayload``.
    """
    if isinstance(payload, list):
        return [_unwrap(item, position) for position, item in enumerate(payload)]
    return [_unwrap(payload, None)]


def _concatenated(data: bytes, error: Exception) -> Any:
    text = data.decode("utf-8", "replace").strip().rstrip(",")
    if text.startswith("{") and text.endswith("}"):
        try:
            return json.loads("[" + text + "]")
        except (ValueError, RecursionError):
            pass
    raise MalformedPayload(one_line(f"payload is not valid JSON: {error}")) from error


# --- payload envelopes ---------------------------------------------------------------------


def _unwrap(item: Any, position: int | None) -> Mapping[str, Any]:
    at = "" if position is None else f" (item {position})"
    if isinstance(item, Mapping) and item.get("method") == "transactionNotification":
        item = _notification(item, at)
    elif isinstance(item, Mapping) and ("jsonrpc" in item or "error" in item or "result" in item):
        error = item.get("error")
        if error is not None:
            if isinstance(error, Mapping):
                text = f"{error.get('code')}: {error.get('message')}"
            else:
                text = str(error)
            raise MalformedPayload(one_line(f"JSON-RPC error{at} {text}"))
        if "result" not in item:
            raise MalformedPayload(f"JSON-RPC response{at} has neither result nor error")
        item = item["result"]
        if item is None:
            raise MalformedPayload(
                f"getTransaction result{at} is null (transaction not found or not yet available)"
            )
    elif isinstance(item, Mapping) and isinstance(item.get("raw"), Mapping):
        wrapper = item
        item = dict(wrapper["raw"])
        for key in ("slot", "blockTime"):
            if item.get(key) is None and wrapper.get(key) is not None:
                item[key] = wrapper[key]
    if not isinstance(item, Mapping):
        raise MalformedPayload(
            f"expected a getTransaction result object{at}, got {type(item).__name__}"
        )
    if "transaction" not in item:
        raise MalformedPayload(f"not a getTransaction result{at}: no 'transaction' field")
    return item


def _notification(item: Mapping[str, Any], at: str) -> Mapping[str, Any]:
    """A Helius ``transactionNotification``: ``params.result = {transaction: {transaction,
    meta, version}, signature, slot}`` (no blockTime)."""
    params = item.get("params")
    result = params.get("result") if isinstance(params, Mapping) else None
    inner = result.get("transaction") if isinstance(result, Mapping) else None
    if not isinstance(result, Mapping) or not isinstance(inner, Mapping):
        raise MalformedPayload(f"transactionNotification{at} has no params.result.transaction")
    return {**inner, "slot": result.get("slot"), "blockTime": result.get("blockTime")}


def one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"
