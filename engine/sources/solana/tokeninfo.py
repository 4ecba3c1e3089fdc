"""A token's identity and launch facts, read from the chain: decimals, name, symbol, when the
mint was created and by whom.

* **Decimals** and, for Token-2022 mints with the metadata extension, **name and symbol**: the
  mint accounts, ``getMultipleAccounts`` (``jsonParsed``), 100 mints a call.
* **Name and symbol** of an SPL mint: its Metaplex metadata account, a PDA of
  ("metadata", metadata program, mint), ``getMultipleAccounts`` (``base64``). This is where
  DexScreener's ``baseToken`` name and symbol come from too, and unlike DexScreener it also
  answers for a pump.fun token still on its bonding curve.
* **Creation time and creator**: the *oldest* transaction that touched the metadata account.
  The account is written when the token is created (pump.fun ``create`` makes it in the same
  transaction as the mint) and, unlike the mint or the bonding curve, swaps never pass it, so
  its whole history is one short page of ``getSignaturesForAddress``. ``created_at`` is that
  transaction's block time and ``creator`` its fee payer (for pump.fun, the ``user`` who
  created the coin). Two calls per mint, batched: one signature page, one ``getTransaction``.
  Not found (no metadata account, e.g. a Token-2022 mint that keeps its metadata inside the
  mint; or a history longer than a page) means unknown: left None, never guessed here.

The PDA derivation (``find_program_address``: SHA-256 of the seeds, the bump, the program id
and "ProgramDerivedAddress", first bump from 255 down whose hash is *not* an ed25519 point) was
checked against the real pump.fun ``create`` in shared/fixtures/solana, whose account keys hold
the metadata PDA and the bonding-curve PDA of its mint.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.sources.base58 import b58decode, b58encode
from engine.sources.solana.rpc import SolanaRpc
from engine.sources.solana.rpc_types import AccountInfo, NotYet, SignatureInfo

log = logging.getLogger(__name__)

METADATA_PROGRAM = "metaqbxxUerdq28cj1RbAWkYQm3ybzjb6a8bt518x1s"
METADATA_V1_KEY = 4  # Metaplex ``Key::MetadataV1``, the first byte of a metadata account
CREATION_PAGE = 1000  # one page of the metadata account's history: the oldest entry is creation

# ed25519: the twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2 over GF(2^255 - 19).
_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P


@dataclass(frozen=True, slots=True)
class MintFacts:
    """What the chain says about a mint; None where it could not be read."""

    mint: str
    decimals: int | None = None
    name: str | None = None
    symbol: str | None = None
    created_at: datetime | None = None
    creator: str | None = None


def is_on_curve(key: bytes) -> bool:
    """True if the 32 bytes decompress to an ed25519 point (a key with a private key)."""
    y = (int.from_bytes(key, "little") & ((1 << 255) - 1)) % _P
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P  # never 0: -1/d is not a square
    x2 = u * pow(v, _P - 2, _P) % _P
    return x2 == 0 or pow(x2, (_P - 1) // 2, _P) == 1


def find_program_address(seeds: Sequence[bytes], program_id: str) -> tuple[str, int]:
    """The program derived address of ``seeds`` and its bump, as Solana's runtime finds it."""
    program = b58decode(program_id)
    prefix = b"".join(seeds)
    for bump in range(255, -1, -1):
        digest = hashlib.sha256(
            prefix + bytes([bump]) + program + b"ProgramDerivedAddress"
        ).digest()
        if not is_on_curve(digest):
            return b58encode(digest), bump
    raise ValueError("no viable bump seed")  # happens with probability ~2^-256


def metadata_address(mint: str) -> str:
    """The Metaplex metadata account of ``mint``."""
    program = b58decode(METADATA_PROGRAM)
    return find_program_address([b"metadata", program, b58decode(mint)], METADATA_PROGRAM)[0]


def parse_metaplex_metadata(data: bytes, mint: str) -> tuple[str, str] | None:
    """(name, symbol) from a Metaplex metadata account, or None if it is not one for ``mint``.

    Layout: key u8, update authority [32], mint [32], then borsh strings (u32 length + UTF-8)
    name, symbol, uri; older accounts pad name and symbol with NUL bytes.
    """
    if len(data) < 65 or data[0] != METADATA_V1_KEY or b58encode(data[33:65]) != mint:
        return None
    offset = 65
    fields: list[str] = []
    for _ in range(2):
        if offset + 4 > len(data):
            return None
        length = int.from_bytes(data[offset : offset + 4], "little")
        offset += 4
        if length > 200 or offset + length > len(data):
            return None
        fields.append(_clean(data[offset : offset + length].decode("utf-8", errors="replace")))
        offset += length
    return fields[0], fields[1]


def token2022_metadata(info: Mapping[str, Any]) -> tuple[str, str] | None:
    """(name, symbol) from the ``tokenMetadata`` extension of a parsed Token-2022 mint."""
    for extension in info.get("extensions") or ():
        if isinstance(extension, Mapping) and extension.get("extension") == "tokenMetadata":
            state = extension.get("state")
            if isinstance(state, Mapping):
                name, symbol = state.get("name"), state.get("symbol")
                if isinstance(name, str) and isinstance(symbol, str):
                    return _clean(name), _clean(symbol)
    return None


async def fetch_mint_facts(rpc: SolanaRpc, mints: Sequence[str]) -> dict[str, MintFacts]:
    """``MintFacts`` of each mint (every mint asked gets an entry, unknown fields None).

    Four batched reads whatever the number of mints: mint accounts and metadata accounts
    (concurrently), the metadata accounts' signature pages, their oldest transactions.
    """
    wanted = list(dict.fromkeys(mints))
    if not wanted:
        return {}
    pdas = {mint: metadata_address(mint) for mint in wanted}
    mint_accounts, meta_accounts = await asyncio.gather(
        rpc.get_multiple_accounts(wanted),
        rpc.get_multiple_accounts([pdas[m] for m in wanted], encoding="base64"),
    )
    decimals: dict[str, int | None] = {}
    names: dict[str, tuple[str, str]] = {}
    for mint, account, meta in zip(wanted, mint_accounts, meta_accounts, strict=True):
        info = account.parsed_info if account is not None else None
        decimals[mint] = _decimals(info)
        found = parse_metaplex_metadata(_base64(meta), mint) if meta is not None else None
        if found is None and info is not None:
            found = token2022_metadata(info)
        if found is not None:
            names[mint] = found
    with_metadata = {pdas[m]: m for m, meta in zip(wanted, meta_accounts, strict=True) if meta}
    created = await _creations(rpc, with_metadata)
    out: dict[str, MintFacts] = {}
    for mint in wanted:
        name, symbol = names.get(mint, (None, None))
        created_at, creator = created.get(mint, (None, None))
        out[mint] = MintFacts(mint, decimals[mint], name, symbol, created_at, creator)
    return out


async def _creations(
    rpc: SolanaRpc, mint_by_pda: Mapping[str, str]
) -> dict[str, tuple[datetime | None, str | None]]:
    """mint -> (created_at, creator) from the oldest transaction of its metadata account."""
    if not mint_by_pda:
        return {}
    pages = await rpc.new_signatures_many(
        dict.fromkeys(mint_by_pda), page_limit=CREATION_PAGE, max_pages=1
    )
    oldest: dict[str, SignatureInfo] = {}
    for pda, infos in pages.items():
        if len(infos) >= CREATION_PAGE:
            log.info("%s: metadata history is longer than a page; creation unknown", pda)
            continue
        first = next((i for i in infos if not i.failed), None)
        if first is not None:
            oldest[mint_by_pda[pda]] = first
    mints = list(oldest)
    txs = await rpc.get_transactions([oldest[m].signature for m in mints])
    out: dict[str, tuple[datetime | None, str | None]] = {}
    for mint, tx in zip(mints, txs, strict=True):
        info = oldest[mint]
        if isinstance(tx, NotYet):
            out[mint] = (info.block_time, None)
            continue
        out[mint] = (_block_time(tx.get("blockTime")) or info.block_time, _fee_payer(tx, mint))
    return out


def _fee_payer(tx: Mapping[str, Any], mint: str) -> str | None:
    """The first account key of a creation transaction that also names ``mint``; else None."""
    try:
        keys = tx["transaction"]["message"]["accountKeys"]
        loaded = (tx.get("meta") or {}).get("loadedAddresses") or {}
        flat = [k if isinstance(k, str) else k["pubkey"] for k in keys]
        flat += list(loaded.get("writable") or ()) + list(loaded.get("readonly") or ())
    except (KeyError, TypeError, IndexError):
        return None
    if not flat or not isinstance(flat[0], str) or mint not in flat:
        return None
    return flat[0]


def _decimals(info: Mapping[str, Any] | None) -> int | None:
    value = info.get("decimals") if info is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _base64(account: AccountInfo) -> bytes:
    data = account.data
    if isinstance(data, list) and data and isinstance(data[0], str):
        try:
            return base64.b64decode(data[0], validate=True)
        except (binascii.Error, ValueError):
            return b""
    return b""


def _block_time(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**40:
        return datetime.fromtimestamp(value, UTC)
    return None


def _clean(text: str) -> str:
    return text.replace("\x00", "").strip()
