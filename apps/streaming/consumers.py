"""The one websocket consumer. Protocol: docs/streaming.md.

A client subscribes to topics; each subscription gets a snapshot (seq 0), then every interval one `update`
with the items that changed (later items replace earlier ones with the same key), seq + 1 each time. The
routing, batching and shared snapshots live in the process's hub (apps/streaming/hub.py); this consumer
checks who may subscribe to what and owns the socket's outbox: everything it sends goes through one writer
task, in order, so a client that cannot keep up only delays itself (the hub closes it with 4008 after
SEND_TIMEOUT_S)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.accounts.permissions import reads_as_public, role_of

from .hub import Hub, Subscription, encode, get_hub
from .topics import TOPICS, SubscriptionError

log = logging.getLogger(__name__)
MAX_SUBSCRIPTIONS = 20
CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_SLOW = 4008


class CityConsumer(AsyncJsonWebsocketConsumer):
    hub: Hub
    writer: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or reads_as_public(user):
            # Accept, then close with a code the page can act on (sign in again); a handshake refusal
            # (403) is kept for foreign origins.
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.audience = role_of(user)
        self.subs: dict[str, Subscription] = {}
        self.outbox: deque[str] = deque()
        self.wake = asyncio.Event()
        self.busy_since: float | None = None
        self.closing = False
        self.hub = get_hub()
        await self.accept()
        self.writer = asyncio.create_task(self._write_forever())

    async def disconnect(self, code: int) -> None:
        for sub in getattr(self, "subs", {}).values():
            self.hub.remove(sub)
        if self.writer is not None:
            self.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.writer

    # --- the outbox (the hub's Socket) -------------------------------------------------------------
    def push(self, text: str) -> None:
        self.outbox.append(text)
        if self.busy_since is None:
            self.busy_since = time.monotonic()
        self.wake.set()

    def busy_for(self, now: float) -> float:
        return 0.0 if self.busy_since is None else now - self.busy_since

    def too_slow(self) -> None:
        if self.closing:
            return
        self.closing = True
        log.info("closing a websocket that could not take its updates")
        for sub in self.subs.values():
            self.hub.remove(sub)
        asyncio.get_running_loop().create_task(self.close(code=CLOSE_TOO_SLOW))

    async def _write_forever(self) -> None:
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                while self.outbox:
                    await self.send(text_data=self.outbox.popleft())
                self.busy_since = None
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the socket is gone; disconnect() cleans up
            log.debug("websocket writer stopped", exc_info=True)

    def _send_json(self, message: dict[str, Any]) -> None:
        self.push(encode(message))

    # --- client messages ---------------------------------------------------------------------------
    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            self._send_json({"type": "error", "code": "invalid", "detail": "messages are JSON objects"})
            return
        action = content.get("action")
        sub_id = str(content.get("id", ""))[:64]
        if action == "ping":
            self._send_json({"type": "pong"})
        elif action == "subscribe":
            await self._subscribe(sub_id, content.get("topic"), content.get("params") or {})
        elif action == "unsubscribe":
            sub = self.subs.pop(sub_id, None)
            if sub is not None:
                self.hub.remove(sub)
            self._send_json({"type": "unsubscribed", "id": sub_id})
        elif action == "resync" and sub_id in self.subs:
            await self._snapshot(self.subs[sub_id], reason="requested")
        else:
            self._send_json({"type": "error", "id": sub_id, "code": "invalid", "detail": f"unknown action {action!r}"})

    async def _subscribe(self, sub_id: str, topic_name: Any, params: Any) -> None:
        topic = TOPICS.get(str(topic_name))
        if not sub_id:
            self._send_json({"type": "error", "code": "invalid", "detail": "a subscription needs an id"})
            return
        if topic is None:
            self._send_json(
                {"type": "error", "id": sub_id, "code": "unknown_topic", "detail": f"topics: {', '.join(TOPICS)}"}
            )
            return
        if len(self.subs) >= MAX_SUBSCRIPTIONS and sub_id not in self.subs:
            self._send_json(
                {"type": "error", "id": sub_id, "code": "too_many", "detail": f"at most {MAX_SUBSCRIPTIONS}"}
            )
            return
        try:
            cleaned = topic.authorize(self.user, params if isinstance(params, dict) else {})
        except SubscriptionError as exc:
            self._send_json({"type": "error", "id": sub_id, "code": exc.code, "detail": exc.detail})
            return
        old = self.subs.get(sub_id)
        if old is not None:
            self.hub.remove(old)
        sub = Subscription(self, sub_id, topic, cleaned, self.audience)
        self.subs[sub_id] = sub
        self._send_json({"type": "subscribed", "id": sub_id, "topic": topic.name})
        await self.hub.add(sub)  # collects batches from now on ...
        await self._snapshot(sub)  # ... so nothing committed after the snapshot's query is missed

    async def _snapshot(self, sub: Subscription, reason: str | None = None) -> None:
        sub.ready = False
        if reason:
            self._send_json({"type": "resync", "id": sub.id, "reason": reason})
        try:
            items = await self.hub.snapshot(sub, self.user)
        except Exception:  # noqa: BLE001 - the database is away: say so; the client retries with resync
            log.warning("snapshot for %s failed", sub.topic.name, exc_info=True)
            self._send_json({"type": "error", "id": sub.id, "code": "unavailable", "detail": "try again shortly"})
            return
        if self.subs.get(sub.id) is not sub:
            return  # unsubscribed (or replaced) meanwhile
        sub.seq = 0
        self._send_json({"type": "snapshot", "id": sub.id, "topic": sub.topic.name, "seq": 0, "items": items})
        sub.ready = True  # what it collected meanwhile goes out as update 1
        if sub.pending:
            self.hub.kick()

    def resync(self, sub: Subscription, reason: str) -> None:
        """Called by the hub when the channel layer lost batches of this subscription's topic."""
        if not self.closing and self.subs.get(sub.id) is sub:
            asyncio.get_running_loop().create_task(self._snapshot(sub, reason=reason))
