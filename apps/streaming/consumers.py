"""The one websocket consumer. Protocol: docs/streaming.md.

A client subscribes to topics; each subscription gets a snapshot (seq 0), then every interval one
`update` with the items that changed (later items replace earlier ones with the same key), seq + 1 each
time. Publishers number their batches; a consumer that sees a gap (the channel layer dropped something)
sends `resync` and a fresh snapshot. A client that cannot take its updates within SEND_TIMEOUT_S is
disconnected (code 4008) rather than slowing anyone else; it reconnects and starts from a snapshot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.accounts.permissions import reads_as_public

from .topics import TOPICS, SubscriptionError, Topic

log = logging.getLogger(__name__)
SEND_TIMEOUT_S = 5.0
MAX_SUBSCRIPTIONS = 20
CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_SLOW = 4008


@dataclass
class Subscription:
    id: str
    topic: Topic
    params: dict[str, Any]
    seq: int = 0
    pending: dict[Any, dict[str, Any]] = field(default_factory=dict)
    ready: bool = False  # False until its snapshot went out: updates wait for it


class CityConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or reads_as_public(user):
            # Accept, then close with a code the page can act on (sign in again); a handshake refusal
            # (403) is kept for foreign origins.
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.subs: dict[str, Subscription] = {}
        self.groups_joined: set[str] = set()
        self.last_batch: dict[str, int] = {}
        from apps.telemetry.conf import stream_interval_s

        self.interval = stream_interval_s()
        await self.accept()
        self.flusher = asyncio.create_task(self._flush_forever())

    async def disconnect(self, code: int) -> None:
        flusher = getattr(self, "flusher", None)
        if flusher is not None:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        for group in getattr(self, "groups_joined", set()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            await self.send_json({"type": "error", "code": "invalid", "detail": "messages are JSON objects"})
            return
        action = content.get("action")
        sub_id = str(content.get("id", ""))[:64]
        if action == "ping":
            await self.send_json({"type": "pong"})
        elif action == "subscribe":
            await self._subscribe(sub_id, content.get("topic"), content.get("params") or {})
        elif action == "unsubscribe":
            self.subs.pop(sub_id, None)
            await self.send_json({"type": "unsubscribed", "id": sub_id})
        elif action == "resync" and sub_id in self.subs:
            await self._snapshot(self.subs[sub_id], reason="requested")
        else:
            await self.send_json(
                {"type": "error", "id": sub_id, "code": "invalid", "detail": f"unknown action {action!r}"}
            )

    async def _subscribe(self, sub_id: str, topic_name: Any, params: Any) -> None:
        topic = TOPICS.get(str(topic_name))
        if not sub_id:
            await self.send_json({"type": "error", "code": "invalid", "detail": "a subscription needs an id"})
            return
        if topic is None:
            await self.send_json(
                {"type": "error", "id": sub_id, "code": "unknown_topic", "detail": f"topics: {', '.join(TOPICS)}"}
            )
            return
        if len(self.subs) >= MAX_SUBSCRIPTIONS and sub_id not in self.subs:
            await self.send_json(
                {"type": "error", "id": sub_id, "code": "too_many", "detail": f"at most {MAX_SUBSCRIPTIONS}"}
            )
            return
        try:
            cleaned = topic.authorize(self.user, params if isinstance(params, dict) else {})
        except SubscriptionError as exc:
            await self.send_json({"type": "error", "id": sub_id, "code": exc.code, "detail": exc.detail})
            return
        if topic.group not in self.groups_joined:
            await self.channel_layer.group_add(topic.group, self.channel_name)
            self.groups_joined.add(topic.group)
        sub = Subscription(sub_id, topic, cleaned)
        self.subs[sub_id] = sub
        await self.send_json({"type": "subscribed", "id": sub_id, "topic": topic.name})
        await self._snapshot(sub)

    async def _snapshot(self, sub: Subscription, reason: str | None = None) -> None:
        sub.ready = False
        if reason:
            await self.send_json({"type": "resync", "id": sub.id, "reason": reason})
        items = await database_sync_to_async(sub.topic.snapshot)(self.user, sub.params)
        sub.seq = 0
        sub.pending.clear()
        sub.ready = True
        await self._send({"type": "snapshot", "id": sub.id, "topic": sub.topic.name, "seq": 0, "items": items})

    async def stream_batch(self, event: dict[str, Any]) -> None:
        """A publisher's batch (channel-layer message type stream.batch)."""
        topic_name, seq = event["topic"], int(event.get("seq", 0))
        last = self.last_batch.get(topic_name)
        # Two publishers can race, so a batch may arrive late: keep the highest number seen.
        self.last_batch[topic_name] = max(seq, last or 0)
        gap = None if last is None or seq <= last + 1 else f"missed batches {last + 1}..{seq - 1}"
        for sub in self.subs.values():
            if sub.topic.name != topic_name:
                continue
            if gap:
                await self._snapshot(sub, reason=gap)
                continue
            for item in event["items"]:
                if sub.topic.wants(item, sub.params):
                    sub.pending[sub.topic.key(item)] = item

    async def _flush_forever(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.interval)
                await self.flush()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the socket is gone or too slow; disconnect() cleans up
            log.debug("flusher stopped", exc_info=True)

    async def flush(self) -> None:
        for sub in list(self.subs.values()):
            if not sub.ready or not sub.pending:
                continue
            items = list(sub.pending.values())
            sub.pending.clear()
            sub.seq += 1
            await self._send({"type": "update", "id": sub.id, "topic": sub.topic.name, "seq": sub.seq, "items": items})

    async def _send(self, message: dict[str, Any]) -> None:
        try:
            await asyncio.wait_for(self.send_json(message), timeout=SEND_TIMEOUT_S)
        except TimeoutError:
            log.info("closing a websocket that could not take its updates")
            await self.close(code=CLOSE_TOO_SLOW)
            raise
