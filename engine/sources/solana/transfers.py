"""The instruction tree of a transaction and the asset movements in it: pure functions, no I/O.

Instructions run in this order: top-level instruction ``i``, then the inner instructions of
``meta.innerInstructions`` group ``index == i`` in their listed order. Each inner instruction
carries ``stackHeight`` (2 = called by the top-level instruction, 3 = called by the last
instruction of height 2 before it, ...); top-level ones have height 1 (``null`` in
``jsonParsed``). The **invocation** of an instruction is its nearest ancestor, itself included,
whose program is not infrastructure (System, SPL Token, Token-2022, Associated Token Account,
Compute Budget): the program that made the transfer happen. A top-level transfer has none (-1).

Movements read (``json`` data is base58; ``jsonParsed`` gives the same in ``parsed.info``):

* System ``Transfer``/``TransferWithSeed``: lamports, from -> to (asset SOL, reported as WSOL).
* System ``CreateAccount``/``CreateAccountWithSeed``: lamports from the funder into a new
  account (kind ``create``: rent, plus what a wrapped-SOL account is funded with).
* SPL Token / Token-2022 ``Transfer``/``TransferChecked``: raw amount, source token account ->
  destination token account; the mint from ``TransferChecked``, else from the accounts' mints.
  A Token-2022 mint may keep a transfer fee of it at the destination (``withhold``).
* ``InitializeAccount``/``2``/``3`` and Associated Token Account ``Create``/``CreateIdempotent``
  give the mint and owner of token accounts that token balances may not list (a temporary
  wrapped-SOL account created and closed in the transaction).

Anchor events emitted by self-invocation (an inner instruction of program P, called by P, data
``e445a52e51cb9a1d`` + the event) are kept for the programs in ``EVENT_PROGRAMS``, by the
position of the invocation that emitted them; their data is decoded only when read
(``events_of``: the swap finder reads those of the swaps' invocations, and only those long
enough to hold the fields it reads).

Indexes built once per transaction for the swap finder: the moves of each invocation, the
**transit** accounts (those that both receive and send), and whether a move was made at the
**router level** (a top-level transfer, or one whose invocation is a router, bot or keeper
program of ``ROUTER_PROGRAMS``).
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from engine.errors import MalformedPayload
from engine.sources.base58 import ALPHABET, b58decode, b58encode, b58int, is_base58
from engine.sources.solana.programs import (
    ATA_PROGRAM,
    INFRA_PROGRAMS,
    KEEPER_PROGRAMS,
    PUMPFUN_PROGRAM,
    PUMPSWAP_PROGRAM,
    ROUTER_PROGRAMS,
    SYSTEM_PROGRAM,
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAM,
    WSOL_MINT,
)

__all__ = ["U64_MAX", "Move", "Tree", "events_of", "raw_amount", "read_tree", "withhold"]

EVENT_TAG = bytes.fromhex("e445a52e51cb9a1d")  # sha256("anchor:event")[:8]
EVENT_PROGRAMS = frozenset({PUMPFUN_PROGRAM, PUMPSWAP_PROGRAM})
_TOKEN_PROGRAMS = frozenset({TOKEN_PROGRAM, TOKEN_2022_PROGRAM})
_U64 = struct.Struct("<Q")
_U64_MASK = 2**64 - 1


def _le_u64(number: int) -> int:
    """The little-endian u64 that the low 8 bytes of a big-endian ``number`` hold."""
    return int.from_bytes((number & _U64_MASK).to_bytes(8, "big"), "little")


# System Transfer data: u32 tag 2 then u64 lamports, little-endian; as a big-endian number its
# top 32 bits are the tag's bytes 02 00 00 00
_SYSTEM_TRANSFER = 2 << 24


@dataclass(slots=True)
class Move:
    """One movement of an asset. ``asset`` is the mint (WSOL for lamports), '' when unknown."""

    asset: str
    amount: int
    source: str
    dest: str
    call: int  # position of the invocation that made it (-1: a top-level transfer)
    create: bool = False  # lamports funding a new account (system CreateAccount)
    router_level: bool = False  # top-level, or made by a router (set by ``read_tree``)
    token_2022: bool = False  # a Token-2022 transfer (its mint may charge a transfer fee)
    fee_withheld: int = 0  # of ``amount``, kept by the mint: ``dest`` got the rest (``withhold``)


@dataclass(slots=True)
class Tree:
    """Programs by position, each position's invocation (and top-level index, ``top_of``), the
    movements, token-account facts from instructions, events by emitting invocation, and the
    indexes of the movements (see the module doc)."""

    programs: list[str] = field(default_factory=list)
    # invocation -> the invocation that called it (-1: none, it is top-level)
    callers: dict[int, int] = field(default_factory=dict)
    calls: list[int] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)  # account -> (owner, mint)
    # invocation -> the undecoded data of its self-invocations (events, see ``events_of``)
    events: dict[int, list[Any]] = field(default_factory=dict)
    keeper_accounts: set[str] = field(default_factory=set)  # of top-level keeper instructions
    by_call: dict[int, list[int]] = field(default_factory=dict)  # invocation -> move indexes
    transit: set[str] = field(default_factory=set)  # accounts that both receive and send
    signature: str = ""  # of the transaction, to name it in errors
    starts: list[int] = field(default_factory=list)  # top-level index -> its position

    def top_of(self, position: int) -> int:
        """The index of the top-level instruction that ``position`` is in (or under)."""
        return bisect_right(self.starts, position) - 1


def read_tree(
    instructions: list[Any],
    inner: Any,
    keys: list[str],
    signature: str,
    mints: Mapping[str, str] | None = None,
) -> Tree:
    """The tree of a transaction: ``instructions`` of the message, ``inner`` from the meta;
    ``mints`` (token account -> mint, from the token balances) names the mint of a transfer
    whose accounts no instruction of the transaction initialised.

    One loop over the instructions in execution order (the parser's hot path: no call per
    instruction but for the programs whose instructions are read, ``_ROLES``)."""
    groups: dict[int, list[Any]] = {}
    for group in inner or ():
        groups[group["index"]] = group["instructions"]
    tree = Tree(signature=signature)
    calls = tree.calls
    # bound once: the loop below runs for every instruction of every transaction
    add_program, add_call, callers = tree.programs.append, calls.append, tree.callers
    add_start, role_of = tree.starts.append, _ROLES.get
    n = len(keys)
    position = -1
    for top, instruction in enumerate(instructions):
        add_start(position + 1)
        children = groups.get(top)
        opened: list[int] = []  # the stack: opened[h - 1] is the open instruction of height h
        parent = caller = -1  # the instruction above it, and that one's invocation
        for current in [instruction, *children] if children else (instruction,):
            if opened:  # an inner instruction (the top-level one, height 1, stays at [0])
                height = current.get("stackHeight")
                if type(height) is not int or height < 2:
                    height = 2
                if height <= len(opened):  # it closes the open ones of its height and above
                    del opened[height - 1 :]
                parent = opened[-1]  # (a height above them all is read as one more)
                caller = calls[parent]
            position += 1
            index = current.get("programIdIndex")
            if type(index) is int and 0 <= index < n:
                program, listed = keys[index], keys
            else:  # jsonParsed names it (and lists pubkeys), or the index is bad
                named = current.get("programId") if index is None else None
                # (anything but a string: ``_program`` raises, naming the field)
                program = named if type(named) is str else _program(current, keys, signature)
                listed = None
            infra, reader = role_of(program, _INVOCATION)
            if infra:
                call = caller
            else:
                call = position
                callers[position] = caller
            add_program(program)
            add_call(call)
            opened.append(position)
            if reader is None:
                continue
            if listed is None and infra and _parsed_move(tree, program, current, call):
                continue  # what a jsonParsed node decoded is read as it says
            try:
                reader(tree, current, program, parent, call, listed)
            except ValueError as exc:  # from base58 (``b58int``): a character not in it
                raise MalformedPayload(
                    f"transaction {signature}: instruction data: {exc}"
                ) from None
    _index_moves(tree, mints or {})
    return tree


def _index_moves(tree: Tree, mints: Mapping[str, str]) -> None:
    """The moves' missing mints, their router level, and the indexes of the module doc."""
    programs, by_call, known = tree.programs, tree.by_call, tree.accounts
    sources: set[str] = set()
    dests: set[str] = set()
    add_source, add_dest = sources.add, dests.add
    for at, move in enumerate(tree.moves):
        source, dest, call = move.source, move.dest, move.call
        if not move.asset:  # a plain Transfer names no mint: take its accounts'
            of_source, of_dest = known.get(source), known.get(dest)
            move.asset = (
                (of_source and of_source[1])
                or (of_dest and of_dest[1])
                or mints.get(source)
                or mints.get(dest)
                or ""
            )
        move.router_level = call < 0 or programs[call] in ROUTER_PROGRAMS
        by_call.setdefault(call, []).append(at)
        add_source(source)
        add_dest(dest)
    tree.transit = sources & dests


def events_of(tree: Tree, call: int, min_size: int = 0) -> list[bytes]:
    """The Anchor events emitted by the invocation at position ``call``, each without
    ``EVENT_TAG`` (so starting with the event's discriminator), leaving out those shorter than
    ``min_size`` bytes (tag included): a base58 text too short to write that many bytes is not
    decoded at all."""
    shortest = _shortest_text(min_size)
    events = []
    for raw in tree.events.get(call, ()):
        if type(raw) is str and len(raw) < shortest and raw[:1] != "1":
            continue  # (a leading "1" is a whole zero byte: decode those)
        data = _data(raw, tree.signature)
        if data[:8] == EVENT_TAG and len(data) >= min_size:
            events.append(data[8:])
    return events


@cache
def _shortest_text(size: int) -> int:
    """The fewest base58 characters (no leading "1") that can write ``size`` bytes."""
    chars = 0
    while ((58**chars - 1).bit_length() + 7) // 8 < size:
        chars += 1
    return chars


def _program(instruction: Any, keys: list[str], signature: str) -> str:
    """The program id of a ``jsonParsed`` instruction, or ``MalformedPayload`` for a bad
    ``programIdIndex`` (``read_tree`` resolves a good one itself)."""
    index = instruction.get("programIdIndex")
    if index is None:  # jsonParsed
        program = instruction["programId"]
        if type(program) is not str:
            raise MalformedPayload(f"transaction {signature}: programId is not a string")
        return program
    if type(index) is not int or not 0 <= index < len(keys):
        raise MalformedPayload(
            f"transaction {signature}: programIdIndex {index!r} is not one of the "
            f"{len(keys)} accounts"
        )
    return keys[index]


# --- the readers of ``read_tree``: one per program whose instructions are read -------------
# Instruction data (base58 in JSON) is decoded only by these: System, SPL Token, Token-2022 and
# Associated Token Account instructions (the movements and token-account facts above), and, when
# a swap reads them, the events of a self-invocation of an ``EVENT_PROGRAMS`` program. Compute
# Budget's data is never read, nor any other program's. Each takes (tree, instruction, program,
# parent, call, keys: None for a ``jsonParsed`` instruction). A System, Token or ATA
# instruction that the node parsed (``parsed`` an object) is read from what the data says, by
# ``read_tree`` itself (``_parsed_move``, see ``_ROLES``); otherwise its reader resolves (and
# checks) its accounts and decodes its data where they are read. The common data are read from
# the number their base58 writes, without the bytes: a Token ``Transfer`` is 12 characters (9
# bytes), ``TransferChecked`` 13 (10), a System ``Transfer`` 16 (12).


def _read_system(
    tree: Tree, instruction: Any, program: str, parent: int, call: int, keys: Any
) -> None:
    raw = instruction.get("data")
    size = len(raw) if type(raw) is str else -1
    if size == 16 and raw[0] != "1":  # 12 bytes: maybe a Transfer
        number = b58int(raw)
        if number >> 64 == _SYSTEM_TRANSFER:  # u32 tag 2 (LE), u64 lamports
            accounts = _accounts(instruction, keys, tree.signature)
            if len(accounts) >= 2:
                lamports = _le_u64(number)
                tree.moves.append(Move(WSOL_MINT, lamports, accounts[0], accounts[1], call))
            return
        data = number.to_bytes((number.bit_length() + 7) // 8, "big")  # e.g. Allocate
    else:
        funded = _TOKEN_ACCOUNT_CREATES.get(raw) if size == _CREATE_TEXT else None
        if funded is not None:  # a token account's CreateAccount, read before
            accounts = _accounts(instruction, keys, tree.signature)
            if len(accounts) >= 2:
                tree.moves.append(Move(WSOL_MINT, funded, accounts[0], accounts[1], call, True))
            return
        data = _data(raw, tree.signature)
        if size == _CREATE_TEXT and data[:4] == bytes(4) and data[20:] in _TOKEN_PROGRAM_KEYS:
            if len(_TOKEN_ACCOUNT_CREATES) < _CREATES_KEPT:
                _TOKEN_ACCOUNT_CREATES[raw] = _U64.unpack_from(data, 4)[0]
    _system_move(tree, _accounts(instruction, keys, tree.signature), data, call)


# A CreateAccount of a token account (u32 tag 0, u64 lamports, u64 space, the token program as
# owner: 52 bytes, 70 base58 characters) writes the same data in every transaction that opens
# one, the rent-exempt minimum for the same size (41 of the 49 CreateAccounts of the fixtures:
# 2,039,280 lamports for 165 bytes): each such text is decoded once, and its lamports kept.
# Other CreateAccounts (a mint, a pool, a curve) differ from one transaction to the next and
# are decoded every time.
_CREATE_TEXT = 70
_CREATES_KEPT = 64  # texts kept, one per size and rent; once full, a stream of odd ones adds none
_TOKEN_ACCOUNT_CREATES: dict[str, int] = {}  # text -> its lamports
_TOKEN_PROGRAM_KEYS = frozenset(b58decode(p) for p in (TOKEN_PROGRAM, TOKEN_2022_PROGRAM))


def _read_token(
    tree: Tree, instruction: Any, program: str, parent: int, call: int, keys: Any
) -> None:
    # (the accounts are resolved, and checked, only for the instructions that are read)
    raw = instruction.get("data")
    size = len(raw) if type(raw) is str else -1
    if 0 <= size <= 1 and raw in ALPHABET:
        # no data, or one byte (< 58): its tag alone ("2" = InitializeAccount; "A"
        # CloseAccount, "J" SyncNative, "P" InitializeImmutableOwner are not read)
        if raw == "2":
            accounts = _accounts(instruction, keys, tree.signature)
            if len(accounts) >= 3:
                tree.accounts[accounts[0]] = (accounts[2], accounts[1])
        return
    token_2022 = program == TOKEN_2022_PROGRAM
    if 0 < size <= 13 and raw[0] != "1":  # at most 10 bytes, the first one not 0
        number = b58int(raw)
        if number >> 64 == 3:  # Transfer: tag 3, u64 amount (9 bytes)
            accounts = _accounts(instruction, keys, tree.signature)
            if len(accounts) >= 2:
                amount = _le_u64(number)
                move = Move("", amount, accounts[0], accounts[1], call, False, False, token_2022)
                tree.moves.append(move)
            return
        if number >> 72 == 12:  # TransferChecked: tag 12, u64 amount, u8 decimals (10 bytes)
            accounts = _accounts(instruction, keys, tree.signature)
            if len(accounts) >= 3:
                amount = _le_u64(number >> 8)
                source, dest = accounts[0], accounts[2]
                move = Move(accounts[1], amount, source, dest, call, False, False, token_2022)
                tree.moves.append(move)
            return
        data = number.to_bytes((number.bit_length() + 7) // 8, "big")  # e.g. GetAccountDataSize
    elif size == 45 and parent >= 0 and _ata_initialised(tree, instruction, raw, parent, keys):
        return
    else:
        data = _data(raw, tree.signature)
    _token_move(tree, instruction, keys, data, call, token_2022)


def _ata_initialised(tree: Tree, instruction: Any, raw: str, parent: int, keys: Any) -> bool:
    """Whether this is the ``InitializeAccount3`` by which an Associated Token Account
    ``Create`` initialises its account: the owner it writes is the ``Create``'s wallet, already
    recorded (solana-program/associated-token-account, program/src/processor.rs:
    ``process_create_associated_token_account`` invokes ``initialize_account3(token program,
    associated_token_account, mint, wallet)``; the test ``test_ata_initialise_owner_is_wallet``
    checks it on every fixture), so its 33 bytes are checked as base58 and not decoded. The 45
    characters between ``_INIT3_LOW`` and ``_INIT3_HIGH`` are exactly the 33-byte data that
    start with tag 18 (base58 strings of one length sort like the numbers they write)."""
    if not _INIT3_LOW <= raw < _INIT3_HIGH or tree.programs[parent] != ATA_PROGRAM:
        return False  # (raw: 45 characters)
    accounts = _accounts(instruction, keys, tree.signature)
    if len(accounts) < 2:
        return False
    known = tree.accounts.get(accounts[0])
    if known is None or known[1] != accounts[1]:
        return False
    return is_base58(raw)  # else decoded, and refused, as any other data


def _read_ata(
    tree: Tree, instruction: Any, program: str, parent: int, call: int, keys: Any
) -> None:
    accounts = _accounts(instruction, keys, tree.signature)
    raw = instruction.get("data")
    if raw in ("", "1", "2"):  # Create (no data, or tag 0) and CreateIdempotent (tag 1)
        create = True
    else:
        data = _data(raw, tree.signature)
        create = not data or data[0] in (0, 1)
    if create and len(accounts) >= 4:
        tree.accounts[accounts[1]] = (accounts[2], accounts[3])


def _read_keeper(
    tree: Tree, instruction: Any, program: str, parent: int, call: int, keys: Any
) -> None:
    parsed = instruction.get("parsed")
    if parent < 0 and (parsed is None or not isinstance(parsed, Mapping)):  # top-level
        tree.keeper_accounts.update(_accounts(instruction, keys, tree.signature))


def _read_event(
    tree: Tree, instruction: Any, program: str, parent: int, call: int, keys: Any
) -> None:
    if parent >= 0 and tree.programs[parent] == program:
        parsed = instruction.get("parsed")
        if parsed is not None and (type(parsed) is dict or isinstance(parsed, Mapping)):
            return
        tree.events.setdefault(parent, []).append(instruction.get("data"))  # maybe an event


# Each program's role in the tree: whether it is infrastructure (no invocation of its own), and
# its reader. A jsonParsed instruction of an infrastructure program with a reader (System, SPL
# Token, Token-2022, ATA) is read by ``_parsed_move`` when the node decoded it; the readers read
# the rest, the instructions given as data and accounts. A program not listed is an invocation
# whose instructions are not read (``_INVOCATION``).
_Reader = Callable[[Tree, Any, str, int, int, Any], None]
_Role = tuple[bool, _Reader | None]
_ROLES: dict[str, _Role] = {
    **dict.fromkeys(INFRA_PROGRAMS, (True, None)),  # Compute Budget: never read
    SYSTEM_PROGRAM: (True, _read_system),
    TOKEN_PROGRAM: (True, _read_token),
    TOKEN_2022_PROGRAM: (True, _read_token),
    ATA_PROGRAM: (True, _read_ata),
    **dict.fromkeys(KEEPER_PROGRAMS, (False, _read_keeper)),
    **dict.fromkeys(EVENT_PROGRAMS, (False, _read_event)),
}
_INVOCATION: _Role = (False, None)
# InitializeAccount3: 33 bytes, tag 18 (see ``_ata_initialised``)
_INIT3_LOW = b58encode(bytes([18]) + bytes(32))
_INIT3_HIGH = b58encode(bytes([19]) + bytes(32))


def _accounts(instruction: Any, keys: list[str] | None, signature: str) -> list[str]:
    """The account pubkeys of one instruction (``json``: indexes into the keys, checked;
    ``keys`` is None for a ``jsonParsed`` instruction, which lists the pubkeys themselves)."""
    if keys is None:
        listed: list[str] = instruction.get("accounts") or []
        return listed
    accounts = []
    at = None
    try:
        for at in instruction["accounts"]:
            if type(at) is not int or at < 0:
                raise IndexError  # (one past the last: ``keys[at]`` raises it)
            accounts.append(keys[at])
    except IndexError:
        raise MalformedPayload(
            f"transaction {signature}: instruction account {at!r} is not one of the {len(keys)}"
        ) from None
    return accounts


def _data(raw: Any, signature: str) -> bytes:
    """The bytes of an instruction's ``data`` (base58 text in JSON, bytes from the wire)."""
    if type(raw) is bytes:
        return raw  # decoded from the wire
    if type(raw) is not str:
        raise MalformedPayload(f"transaction {signature}: instruction data is not text")
    try:
        return b58decode(raw)
    except ValueError as exc:
        raise MalformedPayload(f"transaction {signature}: instruction data: {exc}") from None


def _system_move(tree: Tree, accounts: list[str], data: bytes, call: int) -> None:
    if len(data) < 12:
        return
    tag = data[0] | data[1] << 8 | data[2] << 16 | data[3] << 24
    if tag == 2 and len(accounts) >= 2:  # Transfer
        lamports = _U64.unpack_from(data, 4)[0]
        tree.moves.append(Move(WSOL_MINT, lamports, accounts[0], accounts[1], call))
    elif tag == 11 and len(accounts) >= 3:  # TransferWithSeed
        lamports = _U64.unpack_from(data, 4)[0]
        tree.moves.append(Move(WSOL_MINT, lamports, accounts[0], accounts[2], call))
    elif tag == 0 and len(accounts) >= 2:  # CreateAccount
        lamports = _U64.unpack_from(data, 4)[0]
        tree.moves.append(Move(WSOL_MINT, lamports, accounts[0], accounts[1], call, True))
    elif tag == 3 and len(accounts) >= 2 and len(data) >= 44:  # CreateAccountWithSeed
        seed_len = _U64.unpack_from(data, 36)[0]
        at = 44 + seed_len
        if len(data) >= at + 8:
            lamports = _U64.unpack_from(data, at)[0]
            tree.moves.append(Move(WSOL_MINT, lamports, accounts[0], accounts[1], call, True))


def _token_move(
    tree: Tree, instruction: Any, keys: Any, data: bytes, call: int, token_2022: bool
) -> None:
    if not data or data[0] not in _TOKEN_TAGS_READ:
        return  # e.g. CloseAccount, SyncNative, GetAccountDataSize: nothing read, nor its accounts
    tag = data[0]
    accounts = _accounts(instruction, keys, tree.signature)
    if tag == 3 and len(accounts) >= 2 and len(data) >= 9:  # Transfer
        amount = _U64.unpack_from(data, 1)[0]
        tree.moves.append(Move("", amount, accounts[0], accounts[1], call, token_2022=token_2022))
    elif tag == 12 and len(accounts) >= 3 and len(data) >= 9:  # TransferChecked
        amount = _U64.unpack_from(data, 1)[0]
        tree.moves.append(
            Move(accounts[1], amount, accounts[0], accounts[2], call, token_2022=token_2022)
        )
    elif tag == 1 and len(accounts) >= 3:  # InitializeAccount
        tree.accounts[accounts[0]] = (accounts[2], accounts[1])
    elif tag in (16, 18) and len(accounts) >= 2 and len(data) >= 33:  # InitializeAccount2/3
        tree.accounts[accounts[0]] = (b58encode(data[1:33]), accounts[1])


_TOKEN_TAGS_READ = frozenset({1, 3, 12, 16, 18})  # the tags ``_token_move`` reads


def _parsed_move(tree: Tree, program: str, instruction: Any, call: int) -> bool:
    """Read what a ``jsonParsed`` node decoded (``parsed`` an object); False when it gave the
    data and accounts instead (it did not know the instruction)."""
    parsed = instruction.get("parsed")
    if parsed is None or (type(parsed) is not dict and not isinstance(parsed, Mapping)):
        return False
    signature = tree.signature
    kind = parsed.get("type")
    info = parsed.get("info")
    if type(info) is not dict and not isinstance(info, Mapping):
        return True
    if program == SYSTEM_PROGRAM:
        if kind in ("transfer", "transferWithSeed"):
            tree.moves.append(
                Move(
                    WSOL_MINT,
                    raw_amount(info["lamports"], "lamports", signature),
                    info["source"],
                    info["destination"],
                    call,
                )
            )
        elif kind in ("createAccount", "createAccountWithSeed"):
            lamports = raw_amount(info["lamports"], "lamports", signature)
            tree.moves.append(
                Move(WSOL_MINT, lamports, info["source"], info["newAccount"], call, True)
            )
    elif program in _TOKEN_PROGRAMS:
        token_2022 = program == TOKEN_2022_PROGRAM
        if kind == "transfer":
            amount = raw_amount(info["amount"], "transfer amount", signature)
            source, dest = info["source"], info["destination"]
            tree.moves.append(Move("", amount, source, dest, call, token_2022=token_2022))
        elif kind == "transferChecked":
            amount = raw_amount(info["tokenAmount"]["amount"], "transfer amount", signature)
            source, dest = info["source"], info["destination"]
            tree.moves.append(Move(info["mint"], amount, source, dest, call, token_2022=token_2022))
        elif kind in ("initializeAccount", "initializeAccount2", "initializeAccount3"):
            tree.accounts[info["account"]] = (info["owner"], info["mint"])
    elif program == ATA_PROGRAM and kind in ("create", "createIdempotent"):
        tree.accounts[info["account"]] = (info["wallet"], info["mint"])
    return True


def withhold(tree: Tree, amount_pre: Mapping[str, int], amount_post: Mapping[str, int]) -> None:
    """Set ``fee_withheld`` of the Token-2022 transfers whose mint kept a transfer fee.

    The fee of a Token-2022 ``Transfer``/``TransferChecked`` is not in the instruction (the
    mint's ``TransferFeeConfig`` sets it): the source sends ``amount``, the fee stays withheld
    in the destination, which can spend only the rest (venues/raydiumCpmm_swap_2DAFiT: the
    wallet sent 24139725097425, the pool's vault gained 23335872251680). So it is read from the
    destination's token balance: what the account's Token-2022 transfers would have left it
    (``amount_pre`` + in - out) minus what it holds after (``amount_post``); an account that
    gained less than that has the shortfall, at most what it received, withheld from its
    incoming transfers (in proportion to their amounts, when several). An account without a
    balance after the transaction (closed) is left as it is.
    """
    incoming: dict[str, list[Move]] = {}
    expected: dict[str, int] = {}
    for move in tree.moves:
        if not move.token_2022:
            continue
        incoming.setdefault(move.dest, []).append(move)
        expected[move.dest] = expected.get(move.dest, 0) + move.amount
        expected[move.source] = expected.get(move.source, 0) - move.amount
    for account, moves in incoming.items():
        after = amount_post.get(account)
        if after is None:
            continue
        received = sum(move.amount for move in moves)
        shortfall = min(expected[account] - (after - amount_pre.get(account, 0)), received)
        if shortfall > 0:
            _spread(moves, shortfall, received)


def _spread(moves: list[Move], fee: int, received: int) -> None:
    """Withhold ``fee`` from ``moves`` (``received`` in all) in proportion to their amounts;
    the rounding remainder from the largest."""
    left = fee
    for move in moves:
        move.fee_withheld = fee * move.amount // received
        left -= move.fee_withheld
    max(moves, key=lambda move: move.amount).fee_withheld += left


U64_MAX = 2**64 - 1  # raw token amounts and lamports are u64 on chain
_MAX_DIGITS = len(str(U64_MAX))


def raw_amount(value: Any, name: str, signature: str) -> int:
    """A raw u64 amount: an integer, or (token amounts, jsonParsed) a string of ASCII digits;
    anything else (negative, fractional, above 18446744073709551615) is ``MalformedPayload``."""
    if type(value) is int:
        amount = value
    elif (
        type(value) is str and 0 < len(value) <= _MAX_DIGITS and value.isascii() and value.isdigit()
    ):
        amount = int(value)
    else:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "…"
        raise MalformedPayload(
            f"transaction {signature}: {name} {shown} is not a raw integer amount"
        )
    if not 0 <= amount <= U64_MAX:
        raise MalformedPayload(
            f"transaction {signature}: {name} {amount} is outside 0..{U64_MAX} (u64)"
        )
    return amount
