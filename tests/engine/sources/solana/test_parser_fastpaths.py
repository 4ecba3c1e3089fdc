"""The parser's shortcuts (issue 10's throughput) give what the plain decoding gives, on every
real instruction of the fixtures.

* base58: two ways from digits to a number (Horner, lanes, by length), each
  checked against the definition (sum of digit x 58**position, a zero byte per leading "1").
* Token ``Transfer``/``TransferChecked`` and System ``Transfer`` are read from the number their
  data writes; the move must be the one the general decoder makes from the bytes.
* An Associated Token Account ``Create``'s ``InitializeAccount3`` is not decoded: the owner it
  writes must be the ``Create``'s wallet in every fixture (the ATA program's processor.rs).
* Events too short for the fields read are left out without being decoded.
* A token account's ``CreateAccount`` text is decoded once and kept; no other one is kept.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from engine.errors import MalformedPayload
from engine.sources.base58 import ALPHABET, b58decode, b58encode, b58int, is_base58
from engine.sources.solana import load_transactions, parse_transaction, transfers
from engine.sources.solana.envelopes import decode_payload
from engine.sources.solana.programs import PUMPFUN_PROGRAM as PUMP
from engine.sources.solana.transfers import (
    EVENT_TAG,
    Tree,
    _read_system,
    _read_token,
    _shortest_text,
    _system_move,
    _token_move,
    events_of,
)
from tests.paths import SOLANA_FIXTURES

SYSTEM = "11111111111111111111111111111111"
TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
ATA = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"


def _json_transactions() -> Iterator[dict[str, Any]]:
    """Every ``json``-encoded result in the fixtures (account keys as strings)."""
    for directory in ("getTransaction", "venues", "ws"):
        for path in sorted((SOLANA_FIXTURES / directory).glob("*.json")):
            yield from _results(path)


def _results(path: Path) -> Iterator[dict[str, Any]]:
    try:
        txs = load_transactions(decode_payload(path.read_bytes()))
    except MalformedPayload:
        return
    for tx in txs:
        transaction = tx["transaction"]
        if not isinstance(transaction, Mapping):
            continue  # base64
        keys = transaction["message"].get("accountKeys")
        if isinstance(keys, list) and keys and type(keys[0]) is str and tx.get("meta"):
            yield dict(tx)


def _instructions(tx: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], list[str]]]:
    """(program, instruction, full keys) of every instruction in execution order: top-level
    instruction i, then the inner instructions of group ``index`` i."""
    meta = tx["meta"]
    loaded = meta.get("loadedAddresses") or {"writable": [], "readonly": []}
    keys = tx["transaction"]["message"]["accountKeys"] + loaded["writable"] + loaded["readonly"]
    inner = {group["index"]: group["instructions"] for group in meta.get("innerInstructions") or []}
    for top, instruction in enumerate(tx["transaction"]["message"]["instructions"]):
        for current in [instruction, *inner.get(top, [])]:
            index = current["programIdIndex"]
            if 0 <= index < len(keys):
                yield keys[index], current, keys


def _data_texts() -> list[str]:
    texts = {
        instruction["data"]
        for tx in _json_transactions()
        for _, instruction, _ in _instructions(tx)
        if type(instruction.get("data")) is str
    }
    return sorted(texts, key=lambda text: (len(text), text))


def _by_definition(text: str) -> bytes:
    number = 0
    for position, char in enumerate(reversed(text)):
        number += ALPHABET.index(char) * 58**position
    zeros = len(text) - len(text.lstrip("1"))
    return bytes(zeros) + (
        number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    )


def test_base58_every_fixture_data_decodes_as_the_definition() -> None:
    texts = _data_texts()
    lengths = {len(text) for text in texts}
    # both ways are exercised: Horner (<= 12 digits), lanes (above: 16 to 569 here)
    assert min(lengths) <= 12 and 16 in lengths and max(lengths) > 512
    for text in texts:
        data = b58decode(text)
        assert data == _by_definition(text), text
        assert b58int(text) == int.from_bytes(data, "big")
        assert b58encode(data) == text


@pytest.mark.parametrize("text", ["0", "O", "I", "l", "3Bxs4Ka0", "é", "abc\ud800"])
def test_base58_refuses_what_is_not_in_the_alphabet(text: str) -> None:
    assert not is_base58(text)
    with pytest.raises(ValueError, match="is not a base58 character"):
        b58int(text)
    with pytest.raises(ValueError, match="is not a base58 character"):
        b58decode(text)


def test_base58_accepts_every_fixture_text() -> None:
    assert all(is_base58(text) for text in _data_texts())


def _tree() -> Tree:
    return Tree(programs=["venue"], callers={0: -1}, calls=[0])


def test_transfers_read_from_the_number_are_the_decoded_moves() -> None:
    """Every System/Token/Token-2022 instruction of the fixtures: the reader's moves and
    token-account facts are the general decoder's (bytes, then the tag)."""
    seen: dict[int, int] = {}
    for tx in _json_transactions():
        for program, instruction, keys in _instructions(tx):
            if program not in (SYSTEM, TOKEN, TOKEN_2022) or type(instruction["data"]) is not str:
                continue
            fast, plain = _tree(), _tree()
            accounts = [keys[at] for at in instruction["accounts"]]
            data = b58decode(instruction["data"])
            if program == SYSTEM:
                _read_system(fast, instruction, program, 0, 0, keys)
                _system_move(plain, accounts, data, 0)
            else:
                _read_token(fast, instruction, program, -1, 0, keys)
                _token_move(plain, instruction, keys, data, 0, program == TOKEN_2022)
            assert fast.moves == plain.moves, instruction
            assert fast.accounts == plain.accounts, instruction
            seen[len(instruction["data"])] = seen.get(len(instruction["data"]), 0) + 1
    assert seen.get(12, 0) > 20 and seen.get(13, 0) > 20 and seen.get(16, 0) > 20  # the fast paths


def test_a_bad_character_in_a_transfer_is_refused() -> None:
    tx = next(
        tx
        for tx in _json_transactions()
        if any(
            program == TOKEN and len(instruction["data"]) == 12
            for program, instruction, _ in _instructions(tx)
        )
    )
    for program, instruction, _ in _instructions(tx):
        if program == TOKEN and len(instruction["data"]) == 12:
            instruction["data"] = "0" + instruction["data"][1:]
    with pytest.raises(MalformedPayload, match="instruction data: '0' is not a base58 character"):
        parse_transaction(tx)


def test_ata_initialise_owner_is_wallet() -> None:
    """The InitializeAccount3 under an ATA Create/CreateIdempotent writes the Create's wallet
    as the owner and its mint (what lets the reader skip decoding it)."""
    checked = 0
    for tx in _json_transactions():
        create: list[str] | None = None  # the accounts of the open ATA Create, if any
        create_height = 0
        for program, instruction, keys in _instructions(tx):
            accounts = [keys[at] for at in instruction["accounts"]]
            height = instruction.get("stackHeight") or 1
            if height <= create_height:
                create, create_height = None, 0  # the Create has returned
            if program == ATA and instruction["data"] in ("", "1", "2"):
                create, create_height = (accounts, height) if len(accounts) >= 4 else (None, 0)
                continue
            data = b58decode(instruction["data"])
            init3 = program in (TOKEN, TOKEN_2022) and len(data) == 33 and data[0] == 18
            if create is not None and init3 and height == create_height + 1:
                assert accounts[0] == create[1]  # the associated token account
                assert accounts[1] == create[3]  # its mint
                assert b58encode(data[1:33]) == create[2]  # owner: the wallet
                checked += 1
    assert checked >= 20


def test_events_shorter_than_asked_are_left_out_undecoded() -> None:
    """A 137-byte pump.fun TradeEvent (before the fee fields) is not read for the 233 bytes a
    fee-bearing one needs; asked for none, it is."""
    texts = [
        instruction["data"]
        for tx in _json_transactions()
        for program, instruction, _ in _instructions(tx)
        if program == PUMP and b58decode(instruction["data"])[:8] == EVENT_TAG
    ]
    old = next(text for text in texts if len(b58decode(text)) == 137)
    tree = Tree(programs=[PUMP, PUMP], callers={0: -1, 1: 0}, calls=[0, 1], events={0: [old]})
    assert events_of(tree, 0) == [b58decode(old)[8:]]
    assert events_of(tree, 0, 8 + 8 + 217) == []


@pytest.mark.parametrize("size", [1, 9, 33, 137, 233, 368, 416])
def test_shortest_text_is_the_shortest_that_writes_that_many_bytes(size: int) -> None:
    smallest = bytes([1]) + bytes(size - 1)  # the smallest number of ``size`` bytes
    assert len(b58encode(smallest)) == _shortest_text(size)
    largest = "z" * (_shortest_text(size) - 1)  # the largest number one character shorter
    assert len(b58decode(largest)) < size


def test_only_token_account_creations_are_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfers, "_TOKEN_ACCOUNT_CREATES", {})
    creates: dict[str, bytes] = {}
    for tx in _json_transactions():
        for program, instruction, keys in _instructions(tx):
            data = instruction["data"]
            if program == SYSTEM and type(data) is str and len(data) == 70:
                creates[data] = b58decode(data)
                _read_system(_tree(), instruction, program, 0, 0, keys)
    kept = transfers._TOKEN_ACCOUNT_CREATES  # text -> its lamports
    owners = {TOKEN: b58decode(TOKEN), TOKEN_2022: b58decode(TOKEN_2022)}
    assert kept
    for text, lamports in kept.items():  # CreateAccount (tag 0) of an account of a token program
        tag, written = struct.unpack_from("<IQ", creates[text])
        assert (tag, written) == (0, lamports) and creates[text][20:] in owners.values()
    others = [t for t, d in creates.items() if d[20:] not in owners.values()]
    assert others and not any(t in kept for t in others)  # a mint, a pool: not kept
    # the ATA's account: CreateAccount (tag 0), 2,039,280 lamports, 165 bytes, the Token program
    ata = struct.pack("<IQQ", 0, 2_039_280, 165) + owners[TOKEN]
    assert kept[b58encode(ata)] == 2_039_280


@pytest.mark.parametrize("size", [1, 31, 32, 33, 200, 1232, 2048])
def test_base58_lanes_are_the_definition_at_every_size(size: int) -> None:
    # random bytes of the sizes around the lanes' powers of two, up to a 2 KiB one
    data = bytes((7 * i * i + 3 * i + size) % 256 for i in range(size))
    for sample in (data, b"\0\0" + data, data + b"\0"):
        text = b58encode(sample)
        assert _by_definition(text) == sample
        assert b58decode(text) == sample


@pytest.mark.parametrize("bad", [999, -1, True, 1.0, "1", None])
def test_a_bad_account_index_of_a_read_instruction_is_refused(bad: Any) -> None:
    tx = next(
        tx
        for tx in _json_transactions()
        if any(program == SYSTEM and len(i["data"]) == 16 for program, i, _ in _instructions(tx))
    )
    for program, instruction, _ in _instructions(tx):
        if program == SYSTEM and len(instruction["data"]) == 16:  # a System Transfer
            instruction["accounts"][1] = bad
    with pytest.raises(MalformedPayload, match=f"instruction account {bad!r} is not one of the"):
        parse_transaction(tx)


def test_accounts_are_checked_where_they_are_read() -> None:
    def first_with(data_length: int | None, data: str | None = None) -> dict[str, Any]:
        return next(
            tx
            for tx in _json_transactions()
            if any(
                program == TOKEN
                and (len(i["data"]) == data_length if data is None else i["data"] == data)
                for program, i, _ in _instructions(tx)
            )
        )

    transfer = first_with(12)  # a Token Transfer: its two accounts are read
    for program, instruction, _ in _instructions(transfer):
        if program == TOKEN and len(instruction["data"]) == 12:
            instruction["accounts"][0] = 999
    with pytest.raises(MalformedPayload, match="instruction account 999 is not one of the"):
        parse_transaction(transfer)
    # a CloseAccount ("A") is not read: its accounts are not resolved, the trades are the same
    close = first_with(None, "A")
    trades = parse_transaction(close)
    for program, instruction, _ in _instructions(close):
        if program == TOKEN and instruction["data"] == "A":
            instruction["accounts"] = [999, -1]
    assert trades and parse_transaction(close) == trades
