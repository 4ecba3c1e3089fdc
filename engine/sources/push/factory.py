"""The push source the settings ask for (``MOONBOT_PUSH_MODE``), built but not started."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from engine.config import Settings
from engine.sources.push.webhooks import WebhookReceiver
from engine.sources.push.websocket import WebSocketPush

__all__ = ["PushSource", "push_source"]

PushSource = WebSocketPush | WebhookReceiver


def push_source(
    settings: Settings,
    wallets: Sequence[str],
    tracked: Callable[[], Collection[str]] | None = None,
) -> PushSource | None:
    """``None`` for ``push_mode="none"``; ``ValueError`` (naming the missing setting, never its
    value) when the mode lacks its URL or secret. ``tracked`` gives a webhook receiver the
    current tracked wallets (default: ``wallets``)."""
    mode = settings.push_mode
    if mode == "none":
        return None
    if mode == "webhook":
        if settings.webhook_auth is None or not settings.webhook_auth.get_secret_value():
            raise ValueError("push_mode=webhook needs MOONBOT_WEBHOOK_AUTH (the authHeader)")
        return WebhookReceiver(
            settings.webhook_auth,
            tracked if tracked is not None else frozenset(wallets),
            path=settings.webhook_path,
            host=settings.webhook_host,
            port=settings.webhook_port,
        )
    url = settings.push_websocket_url
    if url is None:
        raise ValueError(f"push_mode={mode} needs MOONBOT_PUSH_WS_URL or MOONBOT_RPC_URL")
    return WebSocketPush(
        url,
        wallets,
        mode=mode,
        connections=settings.push_ws_connections,
        subscriptions_per_connection=settings.push_ws_subscriptions_per_connection,
        accounts_per_subscription=settings.push_helius_accounts_per_subscription,
        ping_interval_s=settings.push_ws_ping_seconds,
        down_after_s=settings.push_down_after_seconds,
    )
