"""``moonbot track``: the tracked KOL wallets (add, remove, list) and back-filling one's history.

Registered in ``bot.cli`` with ``app.add_typer(track_app, name="track")``. Each command checks
its input first (a bad address or tier is one ``error:`` line and exit code 2, before anything
is opened or written), then calls one ``MoonbotService`` method. ``make_track_app`` takes the
function that opens the service, so a test can hand in its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Protocol, TypeVar

import typer

from bot import progress
from bot.clirun import console, fail, open_moonbot, run_with, say
from bot.progress import ProgressHook
from engine.config import Settings
from engine.errors import UserError

if TYPE_CHECKING:
    from engine.views import BackfillReport, TrackChange, TrackedKol

T = TypeVar("T")


class TrackService(Protocol):
    """The ``MoonbotService`` methods these commands call."""

    async def track_add(self, wallet: str, name: str | None, tier: str) -> TrackChange: ...

    async def track_remove(self, wallet: str) -> TrackedKol: ...

    async def track_list(self) -> list[TrackedKol]: ...

    async def track_backfill(
        self, wallet: str, days: int, progress: ProgressHook | None = None
    ) -> BackfillReport: ...

    async def close(self) -> None: ...


OpenService = Callable[[Settings], Awaitable[TrackService]]


def make_track_app(open_service: OpenService = open_moonbot) -> typer.Typer:
    track = typer.Typer(
        help="Tracked KOL wallets: add, remove, list, back-fill history.", no_args_is_help=True
    )

    def run(action: Callable[[TrackService], Awaitable[T]]) -> T:
        return run_with(open_service, action)

    @track.command("add")
    def add(
        address: Annotated[str, typer.Argument(help="the wallet's base58 address")],
        name: Annotated[str | None, typer.Option(help="display name")] = None,
        tier: Annotated[str, typer.Option(help="elite, top or regular")] = "regular",
    ) -> None:
        """Track a wallet (or change the name and tier of a tracked one)."""
        from engine.service import check_kol_name, check_tier

        wallet = _checked(address)
        _guard(lambda: (check_tier(tier), check_kol_name(name, wallet)))
        change = run(lambda service: service.track_add(wallet, name, tier))
        kol = change.kol
        say(f"{change.action} {kol.name} ({kol.tier}) {kol.wallet}")

    @track.command("remove")
    def remove(
        address: Annotated[str, typer.Argument(help="the wallet's base58 address")],
    ) -> None:
        """Stop tracking a wallet (its trades and statistics are kept)."""
        wallet = _checked(address)
        kol = run(lambda service: service.track_remove(wallet))
        say(f"removed {kol.name} {kol.wallet} ({kol.trades} trades kept)")

    @track.command("list")
    def list_() -> None:
        """The tracked wallets."""
        kols = run(lambda service: service.track_list())
        if not kols:
            say("no tracked wallets: add one with `moonbot track add ADDRESS`")
            return
        for kol in kols:
            say(
                f"{kol.wallet:<44}  {kol.tier:<7}  {kol.trades:>6} trades  "
                f"since {kol.added_at:%Y-%m-%d}  {kol.name}"
            )

    @track.command("backfill")
    def backfill(
        address: Annotated[str, typer.Argument(help="the wallet's base58 address")],
        days: Annotated[int, typer.Option(help="how many days back")] = 7,
    ) -> None:
        """Fetch a tracked wallet's swaps of the last N days from the chain."""
        from engine.service import check_backfill_days

        wallet = _checked(address)
        _guard(lambda: check_backfill_days(days))
        with progress.bars(console) as bars:
            hook = bars.hook("Reading transactions")
            report = run(lambda service: service.track_backfill(wallet, days, hook))
        say(
            f"{report.wallet}: {report.signatures} transactions since "
            f"{report.since:%Y-%m-%d %H:%M} UTC, {report.trades_found} swaps, "
            f"{report.trades_stored} new"
        )
        if report.unavailable:
            say(f"{report.unavailable} transactions not available yet: run it again later")
        if report.truncated:
            say("stopped at the page limit before the start of the window")

    return track


def _checked(address: str) -> str:
    from engine.service import check_address

    return _guard(lambda: check_address(address, "wallet"))


def _guard(check: Callable[[], T]) -> T:
    try:
        return check()
    except UserError as exc:
        fail(str(exc))


track_app = make_track_app()
