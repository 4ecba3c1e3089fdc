"""moonbot's exceptions.

    MoonbotError
    ├── UserError            bad input from a person; ``str(e)`` is one line fit for chat
    │   ├── InvalidAddress   not a base58 Solana address (mint or wallet)
    │   ├── UnknownToken     a valid mint moonbot has never seen
    │   ├── UnknownKol       a wallet or name that is not a tracked KOL
    │   ├── ModelUnavailable no trained model yet, or one that does not fit the features
    │   └── DataFileError    a CSV/Parquet file that cannot be used
    └── SourceError          a data source failed; retried, or shown as "source unavailable"
        ├── SourceUnavailable  429, 5xx, timeouts, connection errors after retries
        └── MalformedPayload   a payload that does not have the shape we need

Faces catch ``UserError`` and show its message; they show ``SourceError`` as a short
"data source unavailable" line and log the details. Anything else is a bug: logged, and the
user gets a generic one-liner, never a traceback.
"""

from __future__ import annotations


class MoonbotError(Exception):
    """Base of every error moonbot raises on purpose."""


class UserError(MoonbotError):
    """Bad input from a person. The message is one line, safe to show in chat."""


class InvalidAddress(UserError):
    pass


class UnknownToken(UserError):
    pass


class UnknownKol(UserError):
    pass


class ModelUnavailable(UserError):
    pass


class DataFileError(UserError):
    pass


class SourceError(MoonbotError):
    """A data source failed."""


class SourceUnavailable(SourceError):
    pass


class MalformedPayload(SourceError):
    pass
