"""JSON-RPC error objects from a Solana node, as typed exceptions (classes in ``engine.errors``).

``rpc_error`` picks the class by the error's code:

    RpcRateLimited       -32429, or -32005 saying "limit"/"too many" (providers)
    RpcNodeUnhealthy     -32005 node behind, -32004/-32014 block not available (yet), -32016 min
                         context slot not reached, -32019 long-term storage unreachable, -32603
                         internal error
    RpcNotAvailable      -32001 cleaned up, -32007 slot skipped, -32009 skipped or missing in
                         long-term storage, -32011 history not available, -32015 unsupported
                         transaction version
    RpcInvalidRequest    -32700 parse error, -32600 invalid request, -32601 method not found,
                         -32602 invalid params
    RpcError             any other code

``RpcRateLimited`` and ``RpcNodeUnhealthy`` are ``RpcTransientError``s (also ``TransientError``s,
so retried). Codes from the Solana validator's ``rpc_custom_error.rs`` and the JSON-RPC 2.0 spec;
-32429 and the "limit exceeded" reading of -32005 are what hosted providers send when rate
limiting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import (
    RpcError,
    RpcInvalidRequest,
    RpcNodeUnhealthy,
    RpcNotAvailable,
    RpcRateLimited,
)

_MAX_MESSAGE = 200

_BY_CODE: dict[int, type[RpcError]] = {
    -32429: RpcRateLimited,
    -32005: RpcNodeUnhealthy,
    -32004: RpcNodeUnhealthy,
    -32014: RpcNodeUnhealthy,
    -32016: RpcNodeUnhealthy,
    -32019: RpcNodeUnhealthy,
    -32603: RpcNodeUnhealthy,
    -32001: RpcNotAvailable,
    -32007: RpcNotAvailable,
    -32009: RpcNotAvailable,
    -32011: RpcNotAvailable,
    -32015: RpcNotAvailable,
    -32700: RpcInvalidRequest,
    -32600: RpcInvalidRequest,
    -32601: RpcInvalidRequest,
    -32602: RpcInvalidRequest,
}
_LIMIT_WORDS = ("limit", "too many", "rate")


def rpc_error(
    error: Any, *, method: str | None = None, scrub: Callable[[str], str] = str
) -> RpcError:
    """The exception for a JSON-RPC ``error`` member (any shape; unknown codes give ``RpcError``)."""
    if isinstance(error, Mapping):
        raw_code = error.get("code")
        code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else 0
        message = str(error.get("message", ""))
    else:
        code, message = 0, str(error)
    message = " ".join(scrub(message).split())
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    cls = _BY_CODE.get(code, RpcError)
    if code == -32005 and any(word in message.lower() for word in _LIMIT_WORDS):
        cls = RpcRateLimited
    return cls(code, message, method=method)
