"""A fake Solana node: the JSON-RPC methods moonbot calls, answered from test data.

* ``getTransaction``: the real fixture transactions in ../shared/fixtures/solana/getTransaction
  (``load_fixture_transactions``), or copies of them made for another wallet
  (``resign_transaction``), by signature; ``null`` for an unknown signature, one in
  ``not_yet``, or at random with probability ``null_rate`` (a node that has not caught up). A v0 transaction asked for without ``maxSupportedTransactionVersion: 0`` gets the
  node's -32015 error, as on mainnet. (The fixtures are ``json`` encoded; they are served as
  they are whatever the encoding asked.)
* ``getSignaturesForAddress``: scripted histories (newest first), paged like the node: start
  below ``before``, stop above ``until`` or at ``limit`` (max 1000). ``shuffle_pages`` serves
  each page in random order; ``overlap_pages`` includes the ``before`` entry again.
* ``getBlockTime``: from ``block_times`` (slot -> Unix seconds), ``null`` for a slot not in it
  (the RPC's answer for a block it has no time for, https://solana.com/docs/rpc/http/getblocktime).
* ``getTokenSupply`` / ``getTokenLargestAccounts`` / ``getMultipleAccounts`` (max 100 keys):
  from ``add_token`` and ``add_account`` (an account stored with base64 data is served as it
  is; ``dataSlice`` trims it). ``load_fixture_accounts`` serves the real pump.fun curve and
  PumpSwap pool accounts of ../shared/fixtures/solana/accounts at their addresses.
* ``fail_next(key, code, message)``: the next call whose first parameter is ``key`` (a
  signature, an address, a mint) gets that JSON-RPC error, inside a batch too.
* Batches (a list body) answer a list; ``max_batch`` refuses larger ones, with a single
  JSON-RPC error object (``batch_refusal="json"``) or HTTP 413 (``"http"``).
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import random
import threading
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from tests.paths import SOLANA_FIXTURES

FIXTURES = SOLANA_FIXTURES
TX_DIR = FIXTURES / "getTransaction"
RPC_DIR = FIXTURES / "rpc"
ACCOUNTS_DIR = FIXTURES / "accounts"

SYSTEM_PROGRAM = "11111111111111111111111111111111"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
PUMP_PROGRAM = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"  # idl/pump.json "address"
PUMP_AMM_PROGRAM = "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA"  # idl/pump_amm.json "address"
# The fixture pool's address is not in its file: it is the PDA ("pool", index 0, creator, base
# mint, quote mint) of the fields it holds, which ("pool_lp_mint", it) corroborates.
FIXTURE_POOL = "6NwddQ9YFo7EJUfZ9F5FGRZhh7SMYoVASePNC8mKnWZo"


class _RpcFault(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def rpc_error_object(id_: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": id_}


@functools.cache
def fixture_transactions() -> dict[str, dict[str, Any]]:
    """Every real transaction in the fixtures, by its first signature (broken files left out).
    Read once per test session; treat it as read-only."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(TX_DIR.glob("*.json")):
        if path.name.startswith("broken_data"):
            continue
        payload = json.loads(path.read_bytes())
        items = payload if isinstance(payload, list) else [payload]
        for item in items:
            tx = item.get("result", item) if isinstance(item, dict) else None
            if isinstance(tx, dict) and "transaction" in tx:
                found[tx["transaction"]["signatures"][0]] = tx
    return found


@functools.cache
def fixture_accounts() -> dict[str, tuple[str, str]]:
    """The real account fixtures: address -> (owner program, data in base64). The files carry
    no owner: the curves are the pump program's (they are PDAs of it, their data a
    ``BondingCurve``), the pool PumpSwap's."""

    def read(name: str) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads((ACCOUNTS_DIR / name).read_bytes())
        return payload

    drained = read("pump_curve_drained_8t4tk.json")
    met = read("pump_curve_met_quote_3hcAKo.json")
    pool = read("pumpswap_pool_globalconfig_buyevent_lukks.json")["pool_account"]
    return {
        drained["account"]: (PUMP_PROGRAM, drained["data_base64"]),
        met["asserted_by_source"]["bondingCurve.account (PDA of mint)"]: (
            PUMP_PROGRAM,
            met["data_base64"],
        ),
        FIXTURE_POOL: (PUMP_AMM_PROGRAM, pool["data_base64"]),
    }


def base64_account(owner: str, data_base64: str, lamports: int = 1_461_600) -> dict[str, Any]:
    """An account entry as ``getMultipleAccounts`` serves it with ``encoding: base64``."""
    return {
        "data": [data_base64, "base64"],
        "executable": False,
        "lamports": lamports,
        "owner": owner,
        "rentEpoch": 18446744073709551615,
        "space": len(base64.b64decode(data_base64)),
    }


def fixture_transaction(file_name: str) -> dict[str, Any]:
    """The one transaction in ``getTransaction/<file_name>`` (a copy: change it freely)."""
    payload = json.loads((TX_DIR / file_name).read_bytes())
    item = payload[0] if isinstance(payload, list) else payload
    return copy.deepcopy(item.get("result", item))


class FakeSolanaNode:
    def __init__(self) -> None:
        self.transactions: dict[str, dict[str, Any]] = {}
        self.histories: dict[str, list[dict[str, Any]]] = {}
        self.supplies: dict[str, tuple[int, int]] = {}
        self.largest: dict[str, list[dict[str, Any]]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.block_times: dict[int, int] = {}
        self.not_yet: set[str] = set()
        self.null_rate = 0.0
        self.shuffle_pages = False
        self.overlap_pages = False
        self.max_batch: int | None = None
        self.batch_refusal = "json"
        self.slot = 330_000_000
        self.calls: Counter[str] = Counter()
        self._item_faults: dict[str, list[tuple[int, str]]] = {}
        self._rng = random.Random(7)
        self._null_rng = random.Random(11)
        self._lock = threading.Lock()

    # --- scripting ----------------------------------------------------------------------------

    def load_fixture_transactions(self) -> list[str]:
        self.transactions.update(fixture_transactions())
        return sorted(self.transactions)

    def add_history(
        self,
        address: str,
        entries: Sequence[tuple[str, int]],
        *,
        failed: Collection[str] = (),
        block_times: Mapping[str, int] | None = None,
    ) -> None:
        """``entries``: (signature, slot), newest first. ``failed`` signatures get an ``err``;
        block times default to ``1_700_000_000 + slot // 3``."""
        times = block_times or {}
        self.histories[address] = [
            {
                "signature": signature,
                "slot": slot,
                "blockTime": times.get(signature, 1_700_000_000 + slot // 3),
                "err": {"InstructionError": [0, {"Custom": 6001}]} if signature in failed else None,
                "memo": None,
                "confirmationStatus": "finalized",
            }
            for signature, slot in entries
        ]

    def add_transaction(self, tx: dict[str, Any]) -> str:
        signature: str = tx["transaction"]["signatures"][0]
        self.transactions[signature] = tx
        return signature

    def add_account(self, pubkey: str, account: dict[str, Any]) -> None:
        self.accounts[pubkey] = account

    def load_fixture_accounts(self) -> list[str]:
        """Serve the real curve and pool accounts (``fixture_accounts``); their addresses."""
        for pubkey, (owner, data) in fixture_accounts().items():
            self.accounts[pubkey] = base64_account(owner, data)
        return sorted(fixture_accounts())

    def add_token_account(
        self, pubkey: str, mint: str, holder: str, amount: int, decimals: int
    ) -> None:
        """A ``jsonParsed`` SPL token account (a pool vault, say) holding ``amount`` raw."""
        self.accounts[pubkey] = _token_account(mint, holder, amount, decimals)

    def add_token(
        self,
        mint: str,
        supply_raw: int,
        decimals: int,
        holdings: Sequence[tuple[str, str, int]],
        owner_programs: Mapping[str, str] | None = None,
    ) -> None:
        """``holdings``: (token account, holder, raw amount); ``owner_programs``: the program that
        owns a holder's own account (System when not given)."""
        self.supplies[mint] = (supply_raw, decimals)
        self.largest[mint] = [
            _ui_amount({"address": account}, amount, decimals)
            for account, _, amount in sorted(holdings, key=lambda h: -h[2])
        ]
        for account, holder, amount in holdings:
            self.accounts[account] = _token_account(mint, holder, amount, decimals)
            program = (owner_programs or {}).get(holder, SYSTEM_PROGRAM)
            self.accounts.setdefault(
                holder,
                {
                    "data": ["", "base64"],
                    "executable": False,
                    "lamports": 1_500_000_000,
                    "owner": program,
                    "rentEpoch": 18446744073709551615,
                    "space": 0 if program == SYSTEM_PROGRAM else 150,
                },
            )

    def fail_next(self, key: str, code: int, message: str) -> None:
        self._item_faults.setdefault(key, []).append((code, message))

    # --- serving ------------------------------------------------------------------------------

    def handle(self, payload: Any) -> tuple[int, Any]:
        with self._lock:
            if isinstance(payload, list):
                if not payload:
                    return 200, rpc_error_object(None, -32600, "Invalid request: empty batch")
                if self.max_batch is not None and len(payload) > self.max_batch:
                    if self.batch_refusal == "http":
                        return 413, {"error": f"batch of {len(payload)} is too large"}
                    message = f"Batch size {len(payload)} exceeds the limit of {self.max_batch}"
                    return 200, rpc_error_object(None, -32600, message)
                return 200, [self._one(call) for call in payload]
            if isinstance(payload, dict):
                return 200, self._one(payload)
            return 200, rpc_error_object(None, -32700, "Parse error")

    def _one(self, call: Any) -> dict[str, Any]:
        if not isinstance(call, dict):
            return rpc_error_object(None, -32600, "Invalid request")
        id_, method = call.get("id"), call.get("method")
        self.calls[str(method)] += 1
        params = call.get("params", [])
        first = params[0] if params and isinstance(params[0], str) else None
        if first is not None and self._item_faults.get(first):
            code, message = self._item_faults[first].pop(0)
            return rpc_error_object(id_, code, message)
        handler = getattr(self, f"_rpc_{method}", None)
        if handler is None:
            return rpc_error_object(id_, -32601, "Method not found")
        try:
            result = handler(*params)
        except _RpcFault as fault:
            return rpc_error_object(id_, fault.code, fault.message)
        except TypeError:
            return rpc_error_object(id_, -32602, "Invalid params")
        return {"jsonrpc": "2.0", "result": result, "id": id_}

    def _context(self, value: Any) -> dict[str, Any]:
        return {"context": {"apiVersion": "2.2.0", "slot": self.slot}, "value": value}

    def _rpc_getSignaturesForAddress(
        self, address: str, config: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        config = config or {}
        limit = config.get("limit", 1000)
        if not 1 <= limit <= 1000:
            raise _RpcFault(-32602, "Invalid limit; max 1000")
        history = self.histories.get(address, [])
        signatures = [entry["signature"] for entry in history]
        start = 0
        if config.get("before") is not None:
            if config["before"] not in signatures:
                return []
            start = signatures.index(config["before"]) + (0 if self.overlap_pages else 1)
        page: list[dict[str, Any]] = []
        for entry in history[start:]:
            if entry["signature"] == config.get("until") or len(page) == limit:
                break
            page.append(entry)
        if self.shuffle_pages:
            self._rng.shuffle(page)
        return page

    def _rpc_getTransaction(self, signature: str, config: dict[str, Any] | None = None) -> Any:
        config = config or {}
        tx = self.transactions.get(signature)
        if tx is None or signature in self.not_yet:
            return None
        if self.null_rate and self._null_rng.random() < self.null_rate:
            return None
        if tx.get("version") == 0 and config.get("maxSupportedTransactionVersion") != 0:
            raise _RpcFault(
                -32015,
                "Transaction version (0) is not supported by the requesting client. "
                "Please try the request again with the following configuration parameter: "
                '"maxSupportedTransactionVersion": 0',
            )
        return tx

    def _rpc_getBlockTime(self, slot: int) -> int | None:
        return self.block_times.get(slot)

    def _rpc_getTokenSupply(
        self, mint: str, config: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if mint not in self.supplies:
            raise _RpcFault(-32602, "Invalid param: not a Token mint")
        amount, decimals = self.supplies[mint]
        return self._context(_ui_amount({}, amount, decimals))

    def _rpc_getTokenLargestAccounts(
        self, mint: str, config: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if mint not in self.largest:
            raise _RpcFault(-32602, "Invalid param: not a Token mint")
        return self._context(self.largest[mint][:20])

    def _rpc_getMultipleAccounts(
        self, keys: list[str], config: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        config = config or {}
        if len(keys) > 100:
            raise _RpcFault(-32602, "Too many inputs provided; max 100")
        value = []
        for key in keys:
            account = self.accounts.get(key)
            if account is not None and config.get("encoding") == "base64":
                data = account["data"]
                raw = data[0] if isinstance(data, list) else ""
                window = config.get("dataSlice")
                if window is not None:
                    raw = base64.b64encode(
                        base64.b64decode(raw)[
                            window["offset"] : window["offset"] + window["length"]
                        ]
                    ).decode()
                account = {**account, "data": [raw, "base64"]}
            value.append(account)
        return self._context(value)


def _token_account(mint: str, holder: str, amount: int, decimals: int) -> dict[str, Any]:
    return {
        "data": {
            "parsed": {
                "info": {
                    "isNative": False,
                    "mint": mint,
                    "owner": holder,
                    "state": "initialized",
                    "tokenAmount": _ui_amount({}, amount, decimals),
                },
                "type": "account",
            },
            "program": "spl-token",
            "space": 165,
        },
        "executable": False,
        "lamports": 2_039_280,
        "owner": TOKEN_PROGRAM,
        "rentEpoch": 18446744073709551615,
        "space": 165,
    }


def _ui_amount(base: dict[str, Any], amount: int, decimals: int) -> dict[str, Any]:
    ui = amount / 10**decimals
    return {
        **base,
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": ui,
        "uiAmountString": f"{ui:.{decimals}f}".rstrip("0").rstrip(".") or "0",
    }


def resign_transaction(
    tx: Mapping[str, Any],
    *,
    signature: str,
    slot: int,
    block_time: int,
    wallet: str | None = None,
    mints: Mapping[str, str] | None = None,
    failed: bool = False,
) -> dict[str, Any]:
    """A copy of a real transaction under a new signature, slot and block time.

    ``wallet`` takes the place of the fee payer everywhere it appears (account keys, loaded
    addresses, token-balance owners), so the same swap is now that wallet's; ``mints`` renames
    token mints in the balances the same way. ``failed`` sets ``meta.err`` (the node keeps the
    balances of a failed transaction but for the fee; the parser must ignore it anyway).
    """
    out = copy.deepcopy(dict(tx))
    out["slot"] = slot
    out["blockTime"] = block_time
    out["transaction"]["signatures"][0] = signature
    message = out["transaction"]["message"]
    keys = message["accountKeys"]
    payer = keys[0] if isinstance(keys[0], str) else keys[0]["pubkey"]
    renames = dict(mints or {})
    if wallet is not None:
        renames[payer] = wallet

    def rename(value: Any) -> Any:
        return renames.get(value, value) if isinstance(value, str) else value

    message["accountKeys"] = [
        rename(k) if isinstance(k, str) else {**k, "pubkey": rename(k["pubkey"])} for k in keys
    ]
    meta = out["meta"]
    loaded = meta.get("loadedAddresses")
    if loaded:
        meta["loadedAddresses"] = {part: [rename(a) for a in loaded[part]] for part in loaded}
    for side in ("preTokenBalances", "postTokenBalances"):
        for balance in meta.get(side) or ():
            balance["owner"] = rename(balance.get("owner"))
            balance["mint"] = rename(balance.get("mint"))
    if failed:
        meta["err"] = {"InstructionError": [2, {"Custom": 6001}]}
    return out
