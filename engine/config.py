"""Settings from ``MOONBOT_*`` environment variables and ``.env``.

Everything runtime lives under ``data_dir`` (database, models, reports), so two data dirs never
mix. Secrets are ``SecretStr``: they never appear in a repr, a log line or ``moonbot config``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SourceName = Literal["sim", "rpc"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MOONBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default: SQLite file in data_dir"
    )
    source: SourceName = "sim"
    sim_seed: int = 7
    sim_days: int = 30
    sim_kols: int = 40
    sim_tokens_per_day: int = 30

    rpc_url: SecretStr | None = Field(
        default=None, description="Solana RPC URL (may hold an API key)"
    )
    rpc_requests_per_second: float = 10.0
    dexscreener_url: str = "https://api.dexscreener.com"
    # Candles for the labels' price path (engine.sources.candles): GeckoTerminal's public OHLCV,
    # no key. Off by default; the simulated market has none.
    candles: bool = False
    candles_url: str = "https://api.geckoterminal.com/api/v2"
    candles_timeframe: Literal["minute", "hour", "day"] = "minute"
    candles_aggregate: int = 5

    discord_token: SecretStr | None = None
    telegram_token: SecretStr | None = None
    # comma-separated in the environment: MOONBOT_ADMIN_USER_IDS=123,456
    admin_user_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Telegram chats allowed to use the bot (empty: any chat).
    telegram_allowed_chat_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Discord roles whose members are admins, and a guild to sync commands to at once (else global).
    discord_admin_role_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    discord_guild_id: int | None = None

    alert_score_threshold: int = 60
    alert_channels: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["console"])
    diamond_hand_threshold: float = 50.0
    diamond_hand_min_positions: int = 3
    outcome_horizon_hours: int = 72
    # A KOL buy this long after the signal still re-scores it and may raise an alert.
    signal_window_hours: int = 24
    holdout_fraction: float = 0.2
    promote_min_logloss_gain: float = 0.002

    poll_minutes: int = 5
    # A poll stops starting wallets after this long; the rest keep their cursors for the next
    # poll (0: no budget).
    poll_budget_seconds: float = 240.0
    alert_send_seconds: int = 30
    retrain_cron: str = "0 4 * * mon"
    report_cron: str = "0 12 * * mon"

    # Push (engine.sources.push; README "Push: alerts within seconds"): "logs" = logsSubscribe
    # per wallet on any RPC WebSocket, "helius" = Helius transactionSubscribe, "webhook" = a
    # Helius webhook posting to webhook_host:webhook_port/webhook_path. The poll stays on.
    push_mode: Literal["none", "logs", "helius", "webhook"] = "none"
    push_ws_url: SecretStr | None = Field(
        default=None, description="WebSocket URL (may hold an API key); default: rpc_url as ws(s)"
    )
    push_ws_connections: int = Field(default=1, ge=1)
    push_ws_subscriptions_per_connection: int = Field(default=100, ge=1)
    push_helius_accounts_per_subscription: int = Field(default=1000, ge=1, le=50_000)
    push_ws_ping_seconds: float = Field(default=30.0, gt=0)
    # A connection not subscribed for this long makes the push source "down" (see /status).
    push_down_after_seconds: float = Field(default=60.0, gt=0)
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8787, ge=0, le=65535)
    webhook_path: str = "/helius/webhook"
    webhook_auth: SecretStr | None = Field(
        default=None, description="the webhook's authHeader: Helius sends it as Authorization"
    )

    @field_validator(
        "admin_user_ids",
        "alert_channels",
        "telegram_allowed_chat_ids",
        "discord_admin_role_ids",
        mode="before",
    )
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def db_url(self) -> str:
        return (
            self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'moonbot.db').resolve()}"
        )

    @property
    def push_websocket_url(self) -> str | None:
        """``push_ws_url``, else ``rpc_url`` with ``http`` turned into ``ws`` (secret: never log)."""
        if self.push_ws_url is not None and self.push_ws_url.get_secret_value():
            return self.push_ws_url.get_secret_value()
        if self.rpc_url is None or not self.rpc_url.get_secret_value():
            return None
        url = self.rpc_url.get_secret_value()
        for http, ws in (("https://", "wss://"), ("http://", "ws://")):
            if url.startswith(http):
                return ws + url[len(http) :]
        return url

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    def redacted(self) -> dict[str, str]:
        """The effective settings for display: secrets shown as set/unset only."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                shown[name] = "********" if value.get_secret_value() else "(unset)"
            elif value is None and name in {
                "rpc_url",
                "discord_token",
                "telegram_token",
                "push_ws_url",
                "webhook_auth",
            }:
                shown[name] = "(unset)"
            else:
                shown[name] = str(value)
        shown["database_url"] = _redact_url(self.db_url)
        return shown


def _redact_url(url: str) -> str:
    """Hide a password in a database URL."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:********@{host}"
    return url
