"""Settings from ``MOONBOT_*`` environment variables and ``.env``.

Everything runtime lives under ``data_dir`` (database, models, reports), so two data dirs never
mix. Secrets are ``SecretStr``: they never appear in a repr, a log line or ``moonbot config``.
"""

from __future__ import annotations

import base64
import re
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
    # JSON-RPC calls per HTTP request: at most ``rpc_batch_size``, and per method at most
    # ``rpc_batch_sizes`` (JSON in the environment: MOONBOT_RPC_BATCH_SIZES='{"getTransaction":
    # 100}'). Helius allows 10 history calls per batch (README "Budget").
    rpc_batch_size: int = Field(default=100, ge=1)
    rpc_batch_sizes: dict[str, int] = Field(
        default_factory=lambda: {"getSignaturesForAddress": 10, "getTransaction": 10}
    )
    # Wallets one poll reads at the same time (all within rpc_requests_per_second).
    poll_concurrency: int = Field(default=8, ge=1)
    # Holder statistics (4 calls a mint) of a mint with no new KOL trade are refreshed this
    # often; a mint just bought by a KOL (a signal) gets them at once.
    holder_refresh_minutes: float = Field(default=15.0, ge=0)
    # The provider's credit budget a month (0: none); /status compares the estimate with it.
    rpc_credit_budget_per_month: float = Field(default=0.0, ge=0)
    dexscreener_url: str = "https://api.dexscreener.com"
    # Candles for the labels' price path (engine.sources.candles): GeckoTerminal's public OHLCV,
    # no key. Off by default; the simulated market has none.
    candles: bool = False
    candles_url: str = "https://api.geckoterminal.com/api/v2"
    candles_timeframe: Literal["minute", "hour", "day"] = "minute"
    candles_aggregate: int = 5

    discord_token: SecretStr | None = None
    telegram_token: SecretStr | None = None
    # python-telegram-bot's ``base_url``: a self-hosted Bot API server (or a test's local fake);
    # the token is appended to it.
    telegram_api_url: str = "https://api.telegram.org/bot"
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
    # below this many labeled signals /insights and the report say the sample is too small to
    # tell drivers and patterns (issue 13)
    insights_min_labeled: int = 300

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
    # While the push source is down, the poll runs this often instead of every poll_minutes.
    push_fallback_poll_seconds: float = Field(default=60.0, gt=0)
    # A notified transaction the node cannot serve yet is asked for again for this long, then
    # left to the poll.
    push_fetch_retry_seconds: float = Field(default=120.0, gt=0)
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8787, ge=0, le=65535)
    webhook_path: str = "/helius/webhook"
    webhook_auth: SecretStr | None = Field(
        default=None, description="the webhook's authHeader: Helius sends it as Authorization"
    )

    # `moonbot dashboard` (bot/dashboard): a read-only page; with a token set, every request
    # must carry it (``?token=`` once, then a cookie).
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = Field(default=8501, ge=0, le=65535)
    dashboard_token: SecretStr | None = Field(
        default=None, description="access token for the dashboard (unset: no token asked)"
    )
    dashboard_refresh_seconds: int = Field(default=30, ge=5)
    # The log file (bot/logs.py): data_dir/logs/moonbot.log, rotated; JSON lines on request.
    log_json: bool = False
    log_file_bytes: int = Field(default=5_000_000, ge=10_000)
    log_file_backups: int = Field(default=5, ge=1)

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

    def secret_values(self) -> list[str]:
        """Every secret string these settings hold, in each form a log line or an error could
        show it (a whole token, a URL, the key inside a URL), longest first: what the faces'
        log redaction removes."""
        from urllib.parse import quote, unquote

        from engine.sources.net.redact import SecretUrl

        found: set[str] = set()
        for name in (
            "discord_token",
            "telegram_token",
            "webhook_auth",
            "rpc_url",
            "push_ws_url",
            "dashboard_token",
        ):
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                found.add(value.get_secret_value())
        for url in (self.rpc_url, self.push_ws_url):
            if url is not None and url.get_secret_value():
                found.update(SecretUrl(url.get_secret_value())._secrets)
        if self.push_websocket_url:
            found.add(self.push_websocket_url)
        if self.database_url and "@" in self.database_url and "://" in self.database_url:
            creds = self.database_url.split("://", 1)[1].rsplit("@", 1)[0]
            found.add(creds.partition(":")[2])
        forms = {f for s in found for f in (s, quote(s, safe=""), unquote(s)) if len(f) >= 4}
        return sorted(forms, key=len, reverse=True)

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
                "dashboard_token",
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


# --- start-up checks: what `moonbot run` refuses before it starts anything ---------------------

# Telegram: "The token looks something like 123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
# (https://core.telegram.org/bots/api#authorizing-your-bot): the bot's numeric id, a colon, then
# URL-safe characters.
_TELEGRAM_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
# Discord: three dot-separated base64url parts, the first being the bot's user id (a number)
# in base64 (discord.py's docs/token.rst: user id . timestamp . HMAC).
_DISCORD_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _discord_token_problem(token: str) -> str | None:
    if token.lower().startswith("bot "):
        return "MOONBOT_DISCORD_TOKEN holds a 'Bot ' prefix: set the token alone"
    if not _DISCORD_TOKEN.fullmatch(token):
        return (
            "MOONBOT_DISCORD_TOKEN is not a bot token (three parts joined by dots): copy it from "
            "the Developer Portal, application > Bot > Reset Token"
        )
    first = token.split(".", 1)[0]
    try:
        user_id = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        user_id = ""
    if not user_id.isdigit():
        return (
            "MOONBOT_DISCORD_TOKEN is not a bot token (its first part is not a user id): copy it "
            "from the Developer Portal, application > Bot > Reset Token"
        )
    return None


def _ids_problem(name: str, values: list[str]) -> str | None:
    bad = [v for v in values if not v.lstrip("-").isdigit()]
    if bad:
        return f"MOONBOT_{name.upper()} holds {bad[0]!r}: set numeric ids, comma-separated"
    return None


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value().strip() if value is not None else ""


def check_runnable(settings: Settings) -> list[str]:
    """What keeps these settings from running (``moonbot run``): one line per problem, each
    naming the variable to set; empty when they can run. Secrets are never part of a line."""
    problems: list[str] = []
    if settings.source == "rpc":
        url = _secret(settings.rpc_url)
        if not url:
            problems.append(
                "MOONBOT_SOURCE=rpc needs MOONBOT_RPC_URL: set your Solana RPC URL "
                "(e.g. https://mainnet.helius-rpc.com/?api-key=YOUR_KEY)"
            )
        elif not url.startswith(("http://", "https://")):
            problems.append("MOONBOT_RPC_URL must start with https:// (or http://)")
    telegram = _secret(settings.telegram_token)
    if telegram and not _TELEGRAM_TOKEN.fullmatch(telegram):
        problems.append(
            "MOONBOT_TELEGRAM_TOKEN is not a bot token (digits, a colon, then letters): copy it "
            "from @BotFather's /token"
        )
    discord = _secret(settings.discord_token)
    if discord:
        problems.append(_discord_token_problem(discord) or "")
    for name in ("telegram_allowed_chat_ids", "discord_admin_role_ids"):
        problems.append(_ids_problem(name, getattr(settings, name)) or "")
    for name in ("retrain_cron", "report_cron"):
        problems.append(_cron_problem(name, getattr(settings, name)) or "")
    return [p for p in problems if p]


def _cron_problem(name: str, expression: str) -> str | None:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expression)
    except ValueError as exc:
        return f"MOONBOT_{name.upper()} is not a crontab line ({exc}): e.g. '0 4 * * mon'"
    return None
