"""Frame reading and de-duplication (engine.sources.push.notifications)."""

from __future__ import annotations

import pytest

from engine.errors import MalformedPayload
from engine.sources.push.notifications import (
    Deduper,
    decode_frame,
    logs_subscribe_request,
    read_logs_notification,
    read_transaction_notification,
)
from tests.fakes.ws_node import frame_fee_payer, load_frames


def test_deduper_by_signature_and_wallet() -> None:
    seen = Deduper(capacity=3)
    assert seen.fresh("s1", ["a"]) == ("a",)
    assert seen.fresh("s1", ["a"]) is None
    assert seen.fresh("s1", ["a", "b"]) == ("b",)  # a second tracked wallet in the same tx
    assert seen.fresh("s2", []) == ()  # no wallet named: still once
    assert seen.fresh("s2", []) is None
    seen.fresh("s3", ["c"])  # capacity 3: the oldest pair (s1, a) is forgotten
    assert seen.fresh("s1", ["a"]) == ("a",)
    with pytest.raises(ValueError):
        Deduper(capacity=0)


def test_logs_notification_per_the_rpc_docs() -> None:
    # https://solana.com/docs/rpc/websocket/logssubscribe (shape; the values are made up)
    frame = {
        "jsonrpc": "2.0",
        "method": "logsNotification",
        "params": {
            "result": {
                "context": {"slot": 5208469},
                "value": {"signature": "5h6x", "err": None, "logs": ["BPF program 8333 success"]},
            },
            "subscription": 24040,
        },
    }
    subscription, pushed = read_logs_notification(frame, "wallet")
    assert subscription == 24040
    assert (pushed.signature, pushed.slot, pushed.wallets) == ("5h6x", 5208469, ("wallet",))
    assert pushed.transaction is None and not pushed.failed
    assert logs_subscribe_request(7, "w", "confirmed")["params"] == [
        {"mentions": ["w"]},
        {"commitment": "confirmed"},
    ]


def test_transaction_notification_of_a_real_frame() -> None:
    frame = load_frames()[0]
    payer = frame_fee_payer(frame)
    subscription, pushed = read_transaction_notification(frame, {payer, "someone-else"})
    assert subscription == 2449504275713048
    assert pushed.signature.startswith("4NnciVLN") and pushed.slot == 308454032
    assert pushed.wallets == (payer,) and pushed.transaction is not None


@pytest.mark.parametrize(
    "text", ["", "nope", "[]", "3", '{"method": "logsNotification"}', '{"params": {"result": {}}}']
)
def test_malformed_frames_raise_malformed_payload(text: str) -> None:
    with pytest.raises(MalformedPayload):
        frame = decode_frame(text)
        read_logs_notification(frame, "w")
