"""The push settings (engine.config) and the source they build (engine.sources.push.factory)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from engine.config import Settings
from engine.sources.push.factory import push_source
from engine.sources.push.webhooks import WebhookReceiver
from engine.sources.push.websocket import WebSocketPush

KEY = "0123abcd-key-that-is-secret"


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_push_is_off_by_default() -> None:
    assert settings().push_mode == "none"
    assert push_source(settings(), ["w"]) is None


def test_the_websocket_url_defaults_to_the_rpc_url_as_ws() -> None:
    s = settings(rpc_url=SecretStr(f"https://mainnet.helius-rpc.com/?api-key={KEY}"))
    assert s.push_websocket_url == f"wss://mainnet.helius-rpc.com/?api-key={KEY}"
    s = settings(rpc_url="http://127.0.0.1:8899", push_ws_url="ws://127.0.0.1:8900")
    assert s.push_websocket_url == "ws://127.0.0.1:8900"
    assert settings().push_websocket_url is None


def test_websocket_modes_build_a_sharded_client() -> None:
    s = settings(
        push_mode="logs",
        push_ws_url=f"wss://example.invalid/?api-key={KEY}",
        push_ws_connections=2,
        push_ws_subscriptions_per_connection=3,
    )
    source = push_source(s, [f"w{i}" for i in range(8)])
    assert isinstance(source, WebSocketPush) and source.mode == "logs"
    assert source.left_out == ["w6", "w7"]
    assert KEY not in repr(source)
    with pytest.raises(ValueError, match="MOONBOT_PUSH_WS_URL"):
        push_source(settings(push_mode="helius"), ["w"])


def test_webhook_mode_needs_its_secret_and_never_shows_it() -> None:
    with pytest.raises(ValueError, match="MOONBOT_WEBHOOK_AUTH"):
        push_source(settings(push_mode="webhook"), ["w"])
    s = settings(push_mode="webhook", webhook_auth=KEY, webhook_port=9999)
    source = push_source(s, ["w"])
    assert isinstance(source, WebhookReceiver) and source.port == 9999
    shown = s.redacted()
    assert shown["webhook_auth"] == "********" and shown["push_ws_url"] == "(unset)"
    assert KEY not in repr(s) and KEY not in str(shown)
    assert settings().redacted()["webhook_auth"] == "(unset)"
