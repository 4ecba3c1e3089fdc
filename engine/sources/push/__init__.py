"""Push sources: transactions delivered within about a second of landing (DESIGN.md, step 1).

``WebSocketPush`` (``logsSubscribe`` per wallet, or Helius ``transactionSubscribe``) and
``WebhookReceiver`` (Helius raw and enhanced webhooks) both offer ``start()``/``stop()``,
``events()`` (an async iterator of ``PushedTransaction``, each (signature, wallet) once) and
``health()`` (a ``PushHealth`` for ``/status``). ``PushedTransaction.transaction`` is None when
the source pushed only the signature: the consumer fetches it. ``PushIngest`` (``ingest``) is
that consumer: it fetches, parses and hands each transaction's trades to the tracker's store
and signal step at once (``engine.service.MoonbotService.start_push``). The poll stays the
reconciliation path and repairs whatever the push missed.
"""

from __future__ import annotations

from engine.sources.push.health import PushHealth
from engine.sources.push.notifications import Deduper, PushedTransaction, trades_of

__all__ = ["Deduper", "PushHealth", "PushedTransaction", "trades_of"]
