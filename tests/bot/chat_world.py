"""What both chat-face tests share: a real service on the scripted world, a hostile token name,
a pending alert row, the alert rows' states, and a small real PNG for the chart path."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from sqlmodel import select

from engine.service import MoonbotService
from engine.storage import Alert, Signal, Token
from tests.conftest import MINT_X, WALLET_A, at, world

# The acceptance string: HTML, an @everyone ping, markdown and a masked link in one name.
HOSTILE = "<b>@everyone</b> *_[x](http://evil)"
# A 1x1 white PNG (checked with `file`: PNG image data, 1 x 1, 8-bit/color RGB).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC"
)


async def open_service(settings: object) -> MoonbotService:
    """The service after the world's first 73 hours (2 KOLs, 2 tokens, 2 signals, 1 labeled)."""
    svc = await MoonbotService.open(settings, world())  # type: ignore[arg-type]
    await svc.cycle(at(73 * 60))
    return svc


async def reopen_service(settings: object) -> MoonbotService:
    """The service a restarted process opens on the same database (no new poll)."""
    return await MoonbotService.open(settings, world())  # type: ignore[arg-type]


async def alert_states(svc: MoonbotService) -> dict[str, tuple[str, bool]]:
    """Each alert row's channel: (status, whether a send is marked in flight)."""
    async with svc.db.session() as session:
        rows = (await session.exec(select(Alert))).all()
    return {a.channel: (a.status, a.attempt_started_at is not None) for a in rows}


async def add_hostile_alert(svc: MoonbotService, channel: str) -> None:
    """Rename token X to the hostile string and queue an alert for its signal on ``channel``."""
    async with svc.db.session() as session:
        token = await session.get(Token, MINT_X)
        assert token is not None
        token.symbol, token.name = "EVIL", HOSTILE
        session.add(token)
        signal = (await session.exec(select(Signal).where(Signal.mint == MINT_X))).one()
        assert signal.id is not None
        session.add(
            Alert(
                signal_id=signal.id,
                channel=channel,
                kol_wallet=WALLET_A,
                buy_ts=at(0),
                dh_score=48.0,
                rule_score=signal.rule_score,
                score=signal.score,
            )
        )


def chart(tmp_path: Path) -> Path:
    path = tmp_path / "insights.png"
    path.write_bytes(PNG)
    return path


def discord_plain(chunk: str) -> str:
    """Undo Discord escaping: backslash escapes, and the zero-width space after @."""
    return re.sub(r"\\(.)", r"\1", chunk).replace("@\u200b", "@")
