"""The Solana JSON-RPC client: the methods moonbot reads, over one ``JsonRpcClient``.

Batching, the rate limit, retries and keeping the API key out of logs live in
``engine.sources.solana.jsonrpc``; this module knows the Solana methods and their parameters:

* ``getSignaturesForAddress`` newest first; ``iter_new_signatures`` / ``new_signatures_many``
  page back with ``before`` until the stored cursor (``until``) and return oldest first, many
  wallets per batch (1,000 quiet wallets = 10 requests at a batch size of 100, 100 requests at
  Helius's 10).
* ``getTransaction`` with ``maxSupportedTransactionVersion: 0`` and commitment ``confirmed``;
  a ``null`` result is ``NotYet`` (fetch it again later), never dropped. ``getBlockTime`` for a
  pushed transaction whose frame carries no block time.
* ``getTokenSupply``, ``getTokenLargestAccounts``, ``getMultipleAccounts`` (100 keys a call).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.config import Settings
from engine.errors import MalformedPayload, SourceUnavailable
from engine.sources.solana.jsonrpc import JsonRpcClient
from engine.sources.solana.rpc_types import (
    AccountInfo,
    NotYet,
    SignatureInfo,
    TokenAccountBalance,
    TokenAmount,
    TransactionResult,
    context_value,
)

log = logging.getLogger(__name__)

Encoding = Literal["json", "jsonParsed"]
MAX_SIGNATURES_PER_PAGE = 1000
MAX_ACCOUNTS_PER_CALL = 100
DEFAULT_MAX_PAGES = 10


class SolanaRpc(JsonRpcClient):
    """Typed Solana methods. Build it once (``from_settings``), share it, ``aclose`` it at exit."""

    def __init__(self, *args: Any, commitment: str = "confirmed", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commitment = commitment

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> SolanaRpc:
        """The client for ``settings.rpc_url`` at ``settings.rpc_requests_per_second``."""
        if settings.rpc_url is None or not settings.rpc_url.get_secret_value():
            raise SourceUnavailable("no Solana RPC URL configured (set MOONBOT_RPC_URL)")
        kwargs.setdefault("requests_per_second", settings.rpc_requests_per_second)
        kwargs.setdefault("batch_size", settings.rpc_batch_size)
        kwargs.setdefault("batch_sizes", settings.rpc_batch_sizes)
        return cls(settings.rpc_url, **kwargs)

    # --- signatures --------------------------------------------------------------------------

    async def get_signatures_for_address(
        self,
        address: str,
        *,
        before: str | None = None,
        until: str | None = None,
        limit: int = MAX_SIGNATURES_PER_PAGE,
    ) -> list[SignatureInfo]:
        """One page, newest first: signatures older than ``before`` and newer than ``until``."""
        result = await self.call(
            "getSignaturesForAddress", self._signature_params(address, before, until, limit)
        )
        return _signature_page(result)

    async def iter_new_signatures(
        self,
        address: str,
        until: str | None,
        *,
        page_limit: int = MAX_SIGNATURES_PER_PAGE,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> list[SignatureInfo]:
        """Every signature of ``address`` newer than the cursor ``until``, oldest first.

        Pages back with ``before`` until a page comes back short (or holds ``until``). Entries
        are deduplicated and sorted by slot, so overlapping or shuffled pages give the same list.
        With ``until=None`` (a new wallet) at most ``max_pages`` pages are read. With a cursor,
        paging goes on down to the cursor however many pages that takes: stopping earlier would
        leave a gap between the cursor and the oldest signature read, and moving the cursor past
        it would skip those swaps for good. (How many of them one poll reads is the reader's
        bound: ``WalletReader.scan``'s ``max_transactions``.)
        """
        found = await self.new_signatures_many(
            {address: until}, page_limit=page_limit, max_pages=max_pages
        )
        return found[address]

    async def new_signatures_many(
        self,
        cursors: Mapping[str, str | None],
        *,
        page_limit: int = MAX_SIGNATURES_PER_PAGE,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> dict[str, list[SignatureInfo]]:
        """``iter_new_signatures`` for many wallets at once: each round is one batched
        ``call_many``, and only wallets whose last page was full take part in the next round."""
        limit = max(1, min(page_limit, MAX_SIGNATURES_PER_PAGE))
        paging = {address: _Paging(address, until) for address, until in cursors.items()}
        active = list(paging.values())
        while active:
            results = await self.call_many(
                [
                    (
                        "getSignaturesForAddress",
                        self._signature_params(p.address, p.before, p.until, limit),
                    )
                    for p in active
                ]
            )
            for page_state, result in zip(active, results, strict=True):
                page_state.take(_signature_page(result), limit, max_pages)
            active = [p for p in active if not p.done]
        return {address: p.oldest_first() for address, p in paging.items()}

    def _signature_params(
        self, address: str, before: str | None, until: str | None, limit: int
    ) -> list[Any]:
        config: dict[str, Any] = {"limit": limit, "commitment": self.commitment}
        if before is not None:
            config["before"] = before
        if until is not None:
            config["until"] = until
        return [address, config]

    # --- transactions ------------------------------------------------------------------------

    async def get_transaction(
        self, signature: str, *, encoding: Encoding = "json"
    ) -> TransactionResult:
        """The transaction, or ``NotYet(signature)`` when the node answers ``null``."""
        return (await self.get_transactions([signature], encoding=encoding))[0]

    async def get_transactions(
        self, signatures: Sequence[str], *, encoding: Encoding = "json"
    ) -> list[TransactionResult]:
        """``get_transaction`` for each signature, in order, in JSON-RPC batches."""
        config = {
            "encoding": encoding,
            "maxSupportedTransactionVersion": 0,
            "commitment": self.commitment,
        }
        results = await self.call_many([("getTransaction", [s, config]) for s in signatures])
        out: list[TransactionResult] = []
        for signature, result in zip(signatures, results, strict=True):
            if result is None:
                out.append(NotYet(signature))
            elif isinstance(result, Mapping):
                out.append(result)
            else:
                raise MalformedPayload(f"getTransaction {signature}: result is not an object")
        return out

    async def get_block_time(self, slot: int) -> int | None:
        """The slot's estimated production time (Unix seconds), None when the node has none
        yet (https://solana.com/docs/rpc/http/getblocktime: result ``i64 | null``)."""
        result = await self.call("getBlockTime", [slot])
        if result is None:
            return None
        if type(result) is not int:
            raise MalformedPayload(f"getBlockTime {slot}: result is not an integer")
        return result

    # --- tokens and accounts -----------------------------------------------------------------

    async def get_token_supply(self, mint: str) -> TokenAmount:
        result = await self.call("getTokenSupply", [mint, {"commitment": self.commitment}])
        return TokenAmount.from_json(context_value(result, "getTokenSupply"), "getTokenSupply")

    async def get_token_largest_accounts(self, mint: str) -> list[TokenAccountBalance]:
        """The (at most 20) largest token accounts of ``mint``: accounts, not their owners."""
        result = await self.call("getTokenLargestAccounts", [mint, {"commitment": self.commitment}])
        value = context_value(result, "getTokenLargestAccounts")
        if not isinstance(value, list):
            raise MalformedPayload("getTokenLargestAccounts: value is not a list")
        return [TokenAccountBalance.from_json(item) for item in value]

    async def get_multiple_accounts(
        self,
        pubkeys: Sequence[str],
        *,
        encoding: Literal["jsonParsed", "base64"] = "jsonParsed",
        data_slice: tuple[int, int] | None = None,
    ) -> list[AccountInfo | None]:
        """The accounts, in order (``None`` where none exists), 100 keys a call, batched.

        ``data_slice=(offset, length)`` (base64 only) trims the data; ``(0, 0)`` fetches just
        the owner and lamports. An entry of the wrong shape fails the whole read
        (``MalformedPayload``); ``get_account_entries`` leaves each entry to the caller.
        """
        items = await self.get_account_entries(pubkeys, encoding=encoding, data_slice=data_slice)
        return [AccountInfo.from_json(k, item) for k, item in zip(pubkeys, items, strict=True)]

    async def get_account_entries(
        self,
        pubkeys: Sequence[str],
        *,
        encoding: Literal["jsonParsed", "base64"] = "jsonParsed",
        data_slice: tuple[int, int] | None = None,
    ) -> list[Any]:
        """The raw ``getMultipleAccounts`` entries, in order (``None`` where no account exists),
        for callers that check each entry themselves, so one bad account does not fail the rest.

        One JSON-RPC batch (one HTTP request up to the client's batch size) of calls of at most
        100 keys each, the limit in Solana's RPC docs
        (https://solana.com/docs/rpc/http/getmultipleaccounts): params ``[[pubkey, ...],
        {"encoding", "commitment", "dataSlice": {"offset", "length"}}]``, result
        ``{"context", "value": [account or null, ...]}`` in the order of the keys.
        """
        config: dict[str, Any] = {"encoding": encoding, "commitment": self.commitment}
        if data_slice is not None:
            config["dataSlice"] = {"offset": data_slice[0], "length": data_slice[1]}
        chunks = [
            list(pubkeys[k : k + MAX_ACCOUNTS_PER_CALL])
            for k in range(0, len(pubkeys), MAX_ACCOUNTS_PER_CALL)
        ]
        results = await self.call_many([("getMultipleAccounts", [c, config]) for c in chunks])
        items: list[Any] = []
        for chunk, result in zip(chunks, results, strict=True):
            value = context_value(result, "getMultipleAccounts")
            if not isinstance(value, list) or len(value) != len(chunk):
                raise MalformedPayload("getMultipleAccounts: value does not match the keys asked")
            items.extend(value)
        return items


@dataclass(slots=True)
class _Paging:
    """Paging state of one wallet in ``new_signatures_many``."""

    address: str
    until: str | None
    before: str | None = None
    pages: int = 0
    done: bool = False
    seen: dict[str, tuple[int, SignatureInfo]] = field(default_factory=dict)

    def take(self, page: list[SignatureInfo], limit: int, max_pages: int) -> None:
        self.pages += 1
        fresh = 0
        for info in page:
            if info.signature == self.until:  # a node that includes the cursor itself
                self.done = True
            elif info.signature not in self.seen:
                self.seen[info.signature] = (len(self.seen), info)
                fresh += 1
        if self.done or len(page) < limit or fresh == 0:
            self.done = True
            return
        if self.pages >= max_pages and self.until is None:
            self.done = True  # a new wallet: its recent past only
            return
        if self.pages == max_pages:
            log.info("%s: more than %d pages of new signatures; paging on", self.address, max_pages)
        # the oldest entry of the page (lowest slot; among equal slots the last served): the
        # next page starts below it. If a shuffled page hides the true oldest of a slot, the
        # next page repeats some entries (dropped above) but never skips one.
        self.before = min(reversed(page), key=lambda info: info.slot).signature

    def oldest_first(self) -> list[SignatureInfo]:
        ordered = sorted(self.seen.values(), key=lambda pair: (pair[1].slot, -pair[0]))
        return [info for _, info in ordered]


def _signature_page(result: Any) -> list[SignatureInfo]:
    if not isinstance(result, list):
        raise MalformedPayload("getSignaturesForAddress: result is not a list")
    return [SignatureInfo.from_json(item) for item in result]
