"""moonbot's exceptions: every class moonbot raises on purpose is defined here, and drawn here.

    MoonbotError                      every error moonbot raises on purpose
    ├── UserError                     bad input from a person; ``str(e)`` is one line for chat
    │   ├── InvalidAddress            not a base58 Solana address (mint or wallet)
    │   ├── UnknownToken              a valid mint moonbot has never seen
    │   │   └── AmbiguousToken        a ``$SYMBOL`` several tokens share: the message is a
    │   │                             short numbered list of their mints to pick from
    │   ├── UnknownKol                a wallet or name that is not a tracked KOL
    │   ├── ModelUnavailable          no trained model yet, or one that does not fit the
    │   │                             features; also what ``ml.registry``'s errors become (below)
    │   └── DataFileError             a CSV/Parquet file that cannot be used
    ├── SourceError                   a data source failed; retried, or shown as "data source
    │   │                             unavailable"
    │   ├── SourceUnavailable         429, 5xx, timeouts, connection errors after retries; any
    │   │   │                         other HTTP error status at once; no RPC URL configured
    │   │   ├── TransientError        one failed attempt worth repeating (HTTP 429/5xx, a
    │   │   │                         timeout, a dropped connection, a garbled body);
    │   │   │                         ``retry_after``: the server's hint. ``Retrier`` retries
    │   │   │                         it and raises ``RetriesExhausted`` in the end
    │   │   └── RetriesExhausted      every attempt failed with a ``TransientError`` (``last``)
    │   ├── MalformedPayload          a payload that does not have the shape we need
    │   │   └── MalformedPair         a DexScreener pair without a field the snapshot needs
    │   ├── BatchRejected             a provider refused a JSON-RPC batch (not a rate limit):
    │   │                             its calls are sent again in smaller batches
    │   └── RpcError                  a JSON-RPC error object from a Solana node (``code``,
    │       │                         ``message``, ``method``)
    │       ├── RpcTransientError     expected to go away; also a ``TransientError``: retried
    │       │   ├── RpcRateLimited    -32429, or -32005 saying "limit"/"too many"
    │       │   └── RpcNodeUnhealthy  node behind, block or slot not there yet, internal error
    │       ├── RpcNotAvailable       this node will not serve it (cleaned up, skipped slot,
    │       │                         no history, unsupported tx version)
    │       └── RpcInvalidRequest     our bug: parse error, invalid request, method, params
    ├── StorageUnavailable            the database or the data directory refused: locked,
    │                                 read-only, disk full; one line naming the cause
    ├── FaceUnavailable               a chat face (Telegram, Discord) could not start or lost
    │                                 its connection: rejected token, no network, missing
    │                                 permission; one line naming the face and what to do,
    │                                 never the token
    └── OutcomeUnknown                a face's send failed in a way that leaves open whether the
                                      platform posted it (a timeout): the retry says it may repeat

Faces catch ``UserError`` and show its message; they show ``SourceError`` as a short
"data source unavailable" line and log the details, and ``StorageUnavailable`` as its one line. ``OutcomeUnknown`` is raised by a face's
alert send and caught by the engine's alert sender, which retries the alert. Anything else is a
bug: logged, and the user gets a generic one-liner, never a traceback. Messages never carry
markup, and a message built from a URL uses its redacted form (``engine.sources.net.redact``).

Which JSON-RPC error code gives which ``RpcError`` is decided in
``engine.sources.solana.rpc_errors``; retrying is ``engine.sources.net.retry``.

Outside this tree, because ``ml`` never imports ``engine``, ``ml.registry`` has its own:

    RegistryError                     a model could not be found or used (an ``Exception``)
    ├── ModelNotFound                 no such version, or no model (champion) of that kind yet
    └── SchemaMismatch                the model was trained on a different feature list

The engine catches ``RegistryError`` wherever it calls the registry and raises
``ModelUnavailable`` with its message (``engine.learning.training``, ``engine.learning.modelops``),
or logs it and carries on without a model (``engine.signals.scoring``): it never reaches a face.
"""

from __future__ import annotations


class MoonbotError(Exception):
    """Base of every error moonbot raises on purpose."""


# --------------------------------------------------------------------------------- user errors


class UserError(MoonbotError):
    """Bad input from a person. The message is one line, safe to show in chat."""


class InvalidAddress(UserError):
    pass


class UnknownToken(UserError):
    pass


class AmbiguousToken(UnknownToken):
    """Several tokens share the symbol asked for; the message lists them (a few lines)."""


class UnknownKol(UserError):
    pass


class ModelUnavailable(UserError):
    pass


class DataFileError(UserError):
    pass


# ------------------------------------------------------------------------------- source errors


class SourceError(MoonbotError):
    """A data source failed."""


class SourceUnavailable(SourceError):
    pass


class TransientError(SourceUnavailable):
    """One failed attempt that is worth repeating; ``retry_after`` is the server's hint (s)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RetriesExhausted(SourceUnavailable):
    """Every attempt failed with a transient error; ``last`` is the final one."""

    def __init__(self, message: str, *, attempts: int, last: TransientError) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last = last


class MalformedPayload(SourceError):
    pass


class MalformedPair(MalformedPayload):
    """A DexScreener pair without a field the snapshot needs (the pair is skipped)."""


class BatchRejected(SourceError):
    """The provider refused a JSON-RPC batch (not a rate limit): resend the calls in smaller ones."""


class RpcError(SourceError):
    """A JSON-RPC error object; ``code`` and ``message`` as the node sent them (message scrubbed)."""

    def __init__(self, code: int, message: str, *, method: str | None = None) -> None:
        where = f"{method}: " if method else ""
        super().__init__(f"{where}JSON-RPC error {code}: {message}")
        self.code = code
        self.message = message
        self.method = method


class RpcTransientError(RpcError, TransientError):
    """An error the node expects to go away: retried with backoff."""


class RpcRateLimited(RpcTransientError):
    pass


class RpcNodeUnhealthy(RpcTransientError):
    pass


class RpcNotAvailable(RpcError):
    pass


class RpcInvalidRequest(RpcError):
    pass


# ------------------------------------------------------------------------------------ delivery


class OutcomeUnknown(MoonbotError):
    """A face's send failed in a way that leaves open whether the platform posted the message
    (a timeout waiting for its answer). The retry is flagged ``maybe_delivered``."""


class StorageUnavailable(MoonbotError):
    """The database or the data directory refused (locked, read-only, full). One line."""


class FaceUnavailable(MoonbotError):
    """A chat face could not start or lost its connection. One line naming the face and what to
    do; it never holds a token (the library's own exception, which may, is not chained)."""
