"""The swaps of one wallet in one transaction, from its movements (see ``parser`` for the terms).

The steps, all venue-agnostic (a venue's name is looked up only to label the trade; the Anchor
events of pump.fun and PumpSwap are read only to itemise fees a transfer cannot show):

1. **The wallet's accounts**: the wallet and the token accounts it owns (token balances'
   ``owner``, token-account initialisations). A keeper-filled order (a top-level Jupiter DCA or
   limit-order instruction listing the wallet) adds the token accounts of the order account.
2. **Linked accounts**: the wallet's accounts, plus every *transit* account (one that both
   receives and sends in the transaction) that exchanges an asset with a linked account at the
   router level (a top-level transfer, or one made by a router/bot/keeper program). These are
   the router's intermediate accounts through which the wallet's assets travel.
3. **Hops**: a transfer of a non-quote token made by a venue invocation (any program that is not
   infrastructure and not a router) between a linked and a non-linked account. The non-linked
   side's owner is the **pool**. Token to the linked side: a buy; from it: a sell. A buy's
   amount is what reached the linked account (less a Token-2022 transfer fee withheld there).
4. **Settled quote**: the quote (SOL/WSOL, USDC, USDT) moved by the same invocation into the
   pool's accounts (buy) or out of them (sell). A pool that pays lamports without a transfer
   (the pump.fun curve on a sell) is read from its own lamport change. Venue fees that stay in
   the pool (PumpSwap's LP fee, cashback) come from the venue's event and are taken off (buy) or
   added back (sell), so that the settled amount is the swap's price, fees excluded.
5. **Merging**: hops of one top-level instruction with the same token, side and quote are one
   trade (the legs of a split route, several fills of one order).
"""

from __future__ import annotations

import struct
from collections.abc import Collection
from dataclasses import dataclass, field

from engine.sources.base58 import b58encode
from engine.sources.solana.programs import (
    PUMPFUN_PROGRAM,
    PUMPSWAP_PROGRAM,
    QUOTE_MINTS,
    TIP_ACCOUNTS,
    WSOL_MINT,
)
from engine.sources.solana.transfers import Tree, events_of

__all__ = ["Balances", "Hop", "WalletCosts", "find_hops", "wallet_costs"]

_U64 = struct.Struct("<Q")
# Anchor event discriminators (idl/pump.json, idl/pump_amm.json "events").
_TRADE_EVENT = bytes.fromhex("bddb7fd34ee661ee")
_BUY_EVENT = bytes.fromhex("67f4521f2cf57777")
_SELL_EVENT = bytes.fromhex("3e2f370aa503dc2a")
# The shortest event data (event tag, discriminator, body) that holds the fields read: a
# TradeEvent through creator_fee (body 217 bytes), a Buy/SellEvent through coin_creator_fee (352)
_PUMP_EVENT_SIZE = 8 + 8 + 217
_PUMPSWAP_EVENT_SIZE = 8 + 8 + 352


@dataclass(slots=True)
class Balances:
    """Balances of one transaction: lamports by account, and token accounts' facts."""

    keys: list[str]
    pre: list[int]
    post: list[int]
    owner: dict[str, str]  # token account -> owner
    mint: dict[str, str]  # token account -> mint
    decimals: dict[str, int]  # mint -> decimals
    amount_pre: dict[str, int]  # token account -> raw amount
    amount_post: dict[str, int]
    index: dict[str, int] = field(default_factory=dict)  # account -> first key index

    def lamports_delta(self, account: str) -> int | None:
        at = self.index.get(account)
        return None if at is None else self.post[at] - self.pre[at]


@dataclass(slots=True)
class Hop:
    """One swap of the wallet (after merging): amounts raw, fees by kind in the quote mint."""

    top: int
    call: int
    side: str
    mint: str
    token_amount: int
    quote_mint: str
    quote_amount: int
    venue_program: str
    venue_fees: dict[str, int]
    fee_from_balance: bool = False  # venue fee still to be read from the wallet's balance


@dataclass(slots=True)
class WalletCosts:
    """The wallet's costs outside the venues (lamports), and fees it paid in other mints."""

    tips: int = 0
    router_fees: int = 0
    rent: int = 0
    other_fees: list[tuple[str, str, int]] = field(default_factory=list)  # (kind, mint, raw)


def order_owners(tree: Tree, bal: Balances, wallet: str, signers: set[str]) -> set[str]:
    """Order accounts of the keeper instructions that list ``wallet``: the accounts among them,
    not signers, that own token accounts which paid out (the order's escrow). The DCA fee
    account's owner (CpoD6tWA... in venues/jupiterDca_fill_4J3eXq) is listed too, but its
    account only receives."""
    if wallet not in tree.keeper_accounts:
        return set()
    listed = tree.keeper_accounts - signers - {wallet}
    orders = set()
    for move in tree.moves:
        owner = bal.owner.get(move.source) or _tree_owner(tree, move.source)
        if owner in listed:
            orders.add(owner)
    return orders


def wallet_accounts(tree: Tree, bal: Balances, wallet: str, orders: Collection[str]) -> set[str]:
    """The wallet and the token accounts it owns (those of its filled orders included)."""
    owners = {wallet, *orders}
    accounts = {wallet}
    for account, owner in bal.owner.items():
        if owner in owners:
            accounts.add(account)
    for account, (owner, _mint) in tree.accounts.items():
        if owner in owners:
            accounts.add(account)
    return accounts


def linked_accounts(tree: Tree, own: set[str]) -> set[str]:
    """The wallet's accounts and the router accounts its assets travel through (see above)."""
    transit = tree.transit
    router_level = [m for m in tree.moves if m.router_level]
    linked = set(own)
    changed = True
    while changed:
        changed = False
        for m in router_level:
            if m.source in linked and m.dest not in linked and m.dest in transit:
                linked.add(m.dest)
                changed = True
            elif m.dest in linked and m.source not in linked and m.source in transit:
                linked.add(m.source)
                changed = True
    return linked


def find_hops(
    tree: Tree, bal: Balances, own: set[str], linked: set[str], used: set[int]
) -> list[Hop]:
    """The wallet's swaps, merged per top-level instruction; ``used`` gets the indexes of the
    moves that settled them or paid venue fees (they are not wallet costs)."""
    pools: dict[tuple[int, str, str], list[int]] = {}  # (call, mint, side) -> [token raw, ...]
    pool_of: dict[tuple[int, str, str], str] = {}
    for at, move in enumerate(tree.moves):
        if move.asset in QUOTE_MINTS or not move.asset or move.router_level:
            continue
        from_wallet = move.source in linked
        if from_wallet == (move.dest in linked):
            continue
        side = "sell" if from_wallet else "buy"
        pool_account = move.dest if from_wallet else move.source
        key = (move.call, move.asset, side)
        # bought: what reached the wallet's account; sold: what left it (a Token-2022 fee
        # withheld at the pool's account is part of what the wallet sold)
        token_amount = move.amount if from_wallet else move.amount - move.fee_withheld
        pools.setdefault(key, []).append(token_amount)
        pool_of.setdefault(key, bal.owner.get(pool_account) or _tree_owner(tree, pool_account))
        used.add(at)
    hops: list[Hop] = []
    for (call, mint, side), amounts in pools.items():
        pool = pool_of[(call, mint, side)]
        hop = _settle(tree, bal, linked, used, call, mint, side, pool, sum(amounts))
        if hop is not None:
            hops.append(hop)
    return _merge([hop for hop in hops if not _intermediate(hop, hops, bal, own)])


def _intermediate(hop: Hop, hops: list[Hop], bal: Balances, own: set[str]) -> bool:
    """A token the wallet ends with as much of as it started, traded only inside one top-level
    instruction: an intermediate hop of a route (a round trip spans two instructions)."""
    if len(hops) > 1 and any(h.mint == hop.mint and h.top != hop.top for h in hops):
        return False
    net = 0
    for account in own:
        if bal.mint.get(account) == hop.mint:
            net += bal.amount_post.get(account, 0) - bal.amount_pre.get(account, 0)
    return net == 0


def _tree_owner(tree: Tree, account: str) -> str:
    info = tree.accounts.get(account)
    return info[0] if info else account


def _is_pool(tree: Tree, bal: Balances, account: str, pool: str) -> bool:
    if account == pool:
        return True
    owner = bal.owner.get(account)
    if owner is None:
        info = tree.accounts.get(account)
        owner = info[0] if info else None
    return owner == pool


def _settle(
    tree: Tree,
    bal: Balances,
    linked: set[str],
    used: set[int],
    call: int,
    mint: str,
    side: str,
    pool: str,
    token_amount: int,
) -> Hop | None:
    settled: dict[str, int] = {}
    fees: dict[str, int] = {}
    buying = side == "buy"
    transit, moves = tree.transit, tree.moves
    for at in tree.by_call[call]:
        move = moves[at]
        if move.asset not in QUOTE_MINTS or move.create:
            continue
        dest = move.dest
        into = dest == pool or _is_pool(tree, bal, dest, pool)
        out_of = move.source == pool or _is_pool(tree, bal, move.source, pool)
        if into and out_of:
            continue
        third_party = dest not in linked and dest not in transit
        if buying and into:
            settled[move.asset] = settled.get(move.asset, 0) + move.amount
            used.add(at)
        elif not buying and out_of:
            settled[move.asset] = settled.get(move.asset, 0) + move.amount
            if third_party:
                fees[move.asset] = fees.get(move.asset, 0) + move.amount
            used.add(at)
        elif buying and move.source in linked and third_party:
            fees[move.asset] = fees.get(move.asset, 0) + move.amount
            used.add(at)
    if not settled and not fees:
        _counterparty_quote(tree, linked, used, call, buying, settled)
    from_balance = False
    if not settled and not buying:
        delta = bal.lamports_delta(pool)
        if delta is not None and delta < 0:
            settled[WSOL_MINT] = -delta
            from_balance = True
    if not settled:
        return None  # token for token at one pool: no quote
    quote_mint = max(settled, key=settled.__getitem__) if len(settled) > 1 else next(iter(settled))
    amount = settled[quote_mint]
    venue_fees = {"venue": fees[quote_mint]} if fees.get(quote_mint) else {}
    # positional, in the field order (top, call, side, mint, token_amount, quote_mint,
    # quote_amount, venue_program, venue_fees, fee_from_balance): keywords cost more to match
    hop = Hop(
        tree.top_of(call),
        call,
        side,
        mint,
        token_amount,
        quote_mint,
        amount,
        tree.programs[call],
        venue_fees,
        from_balance,
    )
    _itemise(tree, hop)
    return hop


def _counterparty_quote(
    tree: Tree, linked: set[str], used: set[int], call: int, buying: bool, settled: dict[str, int]
) -> None:
    """A venue whose token and quote vaults have different owners (the prop AMMs of
    venues/jupiterDca_fill_4J3eXq: ZERor4xh's token went to an account of JAMQwgSj, its USDC
    came from 27jhjk3E): the quote the same invocation moved the other way between the linked
    side and any other account."""
    for at in tree.by_call[call]:
        move = tree.moves[at]
        if move.asset not in QUOTE_MINTS or move.create:
            continue
        if (move.source in linked) == buying and (move.dest in linked) != buying:
            settled[move.asset] = settled.get(move.asset, 0) + move.amount
            used.add(at)


def _itemise(tree: Tree, hop: Hop) -> None:
    """Name the venue fees from the venue's own event (pump.fun, PumpSwap): the first event
    long enough to carry them (an older, shorter TradeEvent has none: the transfers' total is
    kept)."""
    if hop.venue_program == PUMPFUN_PROGRAM:
        for event in events_of(tree, hop.call, _PUMP_EVENT_SIZE):
            if event[:8] == _TRADE_EVENT:
                _pump_fees(event, hop)
                return
    elif hop.venue_program == PUMPSWAP_PROGRAM:
        for event in events_of(tree, hop.call, _PUMPSWAP_EVENT_SIZE):
            if event[:8] in (_BUY_EVENT, _SELL_EVENT) and _pumpswap_fees(event, hop):
                return


def _u64(data: bytes, at: int) -> int:
    value: int = _U64.unpack_from(data, at)[0]
    return value


def _pump_fees(event: bytes, hop: Hop) -> None:
    # TradeEvent after the discriminator: mint 0, sol_amount 32, token_amount 40, is_buy 48,
    # user 49, timestamp 81, four reserves 89..121, fee_recipient 121, fee_basis_points 153,
    # fee 161, creator 169, creator_fee_basis_points 201, creator_fee 209 (idl/pump.json).
    body = event[8:]
    if len(body) < 217 or b58encode(body[0:32]) != hop.mint:
        return  # the old 121-byte event has no fee fields: keep the transfers' total
    protocol, creator = _u64(body, 161), _u64(body, 209)
    hop.venue_fees = {"protocol": protocol, "creator": creator}
    hop.fee_from_balance = False


def _pumpswap_fees(event: bytes, hop: Hop) -> bool:
    # Buy/SellEvent after the discriminator: timestamp 0, base amount 8, quote amount 56,
    # lp_fee 72, protocol_fee 88, coin_creator_fee 344, (sell) cashback 360 (idl/pump_amm.json).
    # A sell's quote_amount_out (56) is the price before every fee; the pool pays it out less
    # its LP fee (and pays the cashback out or keeps it: venues/bananagun_pumpswap_5UF9X1 pays
    # 1982989 to a third account), so it is read from the event, not from the transfers. A
    # buy's pool received the price plus the LP fee (the other fees are paid beside it).
    body = event[8:]
    if len(body) < 352 or _u64(body, 8) != hop.token_amount:
        return False
    lp, protocol, creator = _u64(body, 72), _u64(body, 88), _u64(body, 344)
    selling = event[:8] == _SELL_EVENT
    cashback = _u64(body, 360) if selling and len(body) >= 368 else 0
    if hop.side == "sell" and selling:
        hop.quote_amount = _u64(body, 56)
    elif hop.side == "buy" and not selling:
        hop.quote_amount -= lp
    fees = {"lp": lp, "protocol": protocol, "creator": creator}
    if cashback:
        fees["cashback"] = cashback
    hop.venue_fees = fees
    return True


def _merge(hops: list[Hop]) -> list[Hop]:
    if len(hops) < 2:
        return hops
    merged: dict[tuple[int, str, str, str], Hop] = {}
    for hop in hops:
        key = (hop.top, hop.mint, hop.side, hop.quote_mint)
        first = merged.get(key)
        if first is None:
            merged[key] = hop
            continue
        first.token_amount += hop.token_amount
        first.quote_amount += hop.quote_amount
        for kind, amount in hop.venue_fees.items():
            first.venue_fees[kind] = first.venue_fees.get(kind, 0) + amount
    if len(merged) < 2:
        return list(merged.values())
    return sorted(merged.values(), key=lambda hop: hop.call)


def wallet_costs(
    tree: Tree, bal: Balances, wallet: str, own: set[str], linked: set[str], used: set[int]
) -> WalletCosts:
    """Tips, router/bot fees and rent the wallet paid outside what settled its swaps."""
    costs = WalletCosts()
    transit = tree.transit
    # Invocations (not a router's) that paid from an account off the wallet's route: venues
    # that exchanged. A bot program that only collects (ws frame #2's CxvksNjw... sending
    # 560337 to ZG98FUCj...) is not one, so what it takes stays a fee.
    exchanges = {m.call for m in tree.moves if m.source not in linked and not m.router_level}
    for at, move in enumerate(tree.moves):
        if at in used or move.source not in linked or move.dest in linked:
            continue
        if move.dest in transit and not move.create:
            continue  # forwarded along the route, not paid away
        if move.call in exchanges and not move.create and not _was_empty(bal, move.dest):
            # paid into a venue that paid something back: a quote-for-quote hop of the route
            # (USDC -> WSOL at Phoenix in OKXDEX_commissionSplProxySwap, WSOL -> USDC at
            # 9H6tua7j in venues/jupiter_usdt_pumpswap_UnpVKh), not a fee for a service
            continue
        if move.asset != WSOL_MINT:
            if move.asset:
                costs.other_fees.append(("router", move.asset, move.amount))
            continue
        if move.create:
            if move.dest not in own and _tree_owner(tree, move.dest) != wallet:
                # an account closed again in the transaction gave its rent back (ws frame #2:
                # CxvksNjw... funds DiKTVD... with 1057920 and closes it to the wallet)
                costs.rent += min(move.amount, _lamports_after(bal, move.dest, move.amount))
        elif move.dest in TIP_ACCOUNTS:
            costs.tips += move.amount
        elif _was_empty(bal, move.dest):
            costs.rent += move.amount
        else:
            costs.router_fees += move.amount
    costs.rent += _own_rent(bal, own, wallet)
    return costs


def _lamports_after(bal: Balances, account: str, unknown: int) -> int:
    at = bal.index.get(account)
    return unknown if at is None else bal.post[at]


def _was_empty(bal: Balances, account: str) -> bool:
    at = bal.index.get(account)
    return at is not None and bal.pre[at] == 0


def _own_rent(bal: Balances, own: set[str], wallet: str) -> int:
    """Rent left in (+) or refunded from (-) the wallet's own token accounts."""
    total = 0
    for account in own:
        if account == wallet:
            continue
        at = bal.index.get(account)
        if at is None:
            continue
        wsol = bal.mint.get(account) == WSOL_MINT
        before = bal.pre[at] - (bal.amount_pre.get(account, 0) if wsol else 0)
        after = bal.post[at] - (bal.amount_post.get(account, 0) if wsol else 0)
        total += after - before
    return total


def wallet_sol_delta(bal: Balances, own: set[str]) -> int:
    """Lamports of the wallet and its token accounts (WSOL included), after minus before."""
    total = 0
    for account in own:
        delta = bal.lamports_delta(account)
        if delta is not None:
            total += delta
    return total
