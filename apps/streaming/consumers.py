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
import json
import logging
import time
from collections import deque
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.accounts.async_identity import auser_of_session_key
from apps.accounts.permissions import reads_as_public, role_of
from apps.core.nesting import too_deep

from . import conf
from .hub import Hub, Subscription, encode, get_hub
from .topics import TOPICS, SubscriptionError

log = logging.getLogger(__name__)
MAX_SUBSCRIPTIONS = 20
CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_SLOW = 4008
INLINE_WAIT_S = 0.02
# A subscribe with params is 3 levels deep (message, params, bbox); anything deeper is not the protocol.
MAX_DEPTH = 8


def _server_send(send: Any) -> tuple[Any, asyncio.Event | None]:
    """The server's send for this socket, and its `writable` event if it has one (uvicorn's protocols do):
    with it the hub can tell that a write would wait, without waiting."""
    writable = getattr(getattr(send, "__self__", None), "writable", None)
    return send, writable if isinstance(writable, asyncio.Event) else None


class CityConsumer(AsyncJsonWebsocketConsumer):
    # No channel-layer channel of its own: that was a Redis SUBSCRIBE when each socket opened, an UNSUBSCRIBE
    # when it closed and one more waiting task per socket. Batches and account changes reach the socket
    # through the process's hub, which subscribes once per topic and once per signed-in user.
    channel_layer_alias = None  # type: ignore[assignment]
    hub: Hub
    # The writer task starts with the first message that must wait its turn (most go out inline or from one
    # task per flush: hub.py); the re-check is a timer that starts a task when it fires. A thousand sockets
    # opening at once so create no task each (bench/bench_fanout.py).
    writer: asyncio.Task[None] | None = None
    rechecker: asyncio.Task[None] | None = None
    recheck_timer: asyncio.TimerHandle | None = None
    gone = False
    user_id: int | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # Channels' own runs every receive() as a new task and waits on it with asyncio.wait, so that it can
        # also listen on a channel-layer channel; this consumer has none (see channel_layer_alias).
        self.scope, self.channel_layer, self.base_send = scope, None, send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels hops to a thread to close stale database connections before EVERY message (connect,
        # each subscribe, each ping). This consumer reaches the database only through helpers that release
        # their connection in the thread they use (the hub's snapshot, identity.auser_of_session_key): the
        # hop is pure cost (a quarter of the server's time when 5,000 sockets open at once,
        # bench/bench_fanout.py).
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

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
        self.inline = False
        self.closing = False
        self.hub = get_hub()
        self.raw_params: dict[str, dict[str, Any]] = {}
        self.session_key = self.scope.get("session_key")
        await self.accept()
        self.raw_send, self.writable = _server_send(self.base_send)
        # Told when this user's account changes (role, deactivation, logout): see _recheck.
        self.user_id = user.pk
        await self.hub.watch_account(user.pk, self)
        self._schedule_recheck()

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        # Channels' own also hops to a thread to close database connections (see dispatch) and leaves
        # channel-layer groups this consumer never joins.
        await self.disconnect(message.get("code", 1006))
        raise StopConsumer()

    async def disconnect(self, code: int) -> None:
        self.gone = True
        for sub in getattr(self, "subs", {}).values():
            self.hub.remove(sub)
        if self.user_id is not None:
            self.hub.unwatch_account(self.user_id, self)
        if self.recheck_timer is not None:
            self.recheck_timer.cancel()
        for task in (self.writer, self.rechecker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # --- account changes ---------------------------------------------------------------------------
    async def account_changed(self, event: dict[str, Any]) -> None:
        """The channel layer's `account.changed` for this user (through the hub): re-check at once."""
        ended = event.get("ended_session")
        await self._recheck(signed_out=bool(ended) and ended == self.session_key)

    def _schedule_recheck(self) -> None:
        if not self.gone:
            self.recheck_timer = asyncio.get_running_loop().call_later(conf.recheck_s(), self._start_recheck)

    def _start_recheck(self) -> None:
        if not self.gone:
            self.rechecker = asyncio.get_running_loop().create_task(self._recheck_now())

    async def _recheck_now(self) -> None:
        try:
            await self._recheck()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the database is away: keep the socket, try next time
            log.warning("websocket re-check failed", exc_info=True)
        self._schedule_recheck()

    async def _recheck(self, *, signed_out: bool = False) -> None:
        """Read the session's user again: a socket whose user is gone (logged out, deactivated, now a machine
        account) closes with 4401; each subscription the new role may not have ends with `ended`; one whose
        view depends on the role (its params or audience) starts over with a snapshot."""
        if self.closing:
            return
        user = None if signed_out else await auser_of_session_key(self.session_key)
        if user is None or not user.is_authenticated or reads_as_public(user):
            self.closing = True
            for sub in self.subs.values():
                self.hub.remove(sub)
            self.subs.clear()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user, audience = user, role_of(user)
        changed_audience, self.audience = audience != self.audience, audience
        for sub_id, sub in list(self.subs.items()):
            try:
                cleaned = sub.topic.authorize(user, self.raw_params.get(sub_id, {}))
            except SubscriptionError as exc:
                self.hub.remove(sub)
                del self.subs[sub_id]
                self._send_json({"type": "ended", "id": sub_id, "topic": sub.topic.name, "code": exc.code,
                                 "detail": f"your account changed: {exc.detail}"})  # fmt: skip
                continue
            if cleaned == sub.params and not changed_audience:
                continue
            self.hub.remove(sub)
            fresh = Subscription(self, sub_id, sub.topic, cleaned, audience)
            self.subs[sub_id] = fresh
            await self.hub.add(fresh)
            await self._snapshot(fresh, reason="account_changed")

    # --- the outbox (the hub's Socket) -------------------------------------------------------------
    def push(self, text: str) -> None:
        self.outbox.append(text)
        if self.busy_since is None:
            self.busy_since = time.monotonic()
        self._wake_writer()

    def _wake_writer(self) -> None:
        if self.writer is None and not self.gone:
            self.writer = asyncio.get_running_loop().create_task(self._write_forever())
        self.wake.set()

    async def deliver(self, text: str) -> None:
        """Write now if nothing is queued (the common case: no task switch), else queue behind the rest. A
        paused transport (the client reads slowly) is left to the writer task: under uvicorn we see that its
        `writable` event is clear; under another server we give up waiting after INLINE_WAIT_S (uvicorn-like
        servers wait for the transport BEFORE they write anything, so nothing is half sent)."""
        if self.busy_since is not None or self.closing:
            self.push(text)
            return
        message = {"type": "websocket.send", "text": text}
        if self.writable is not None:
            # uvicorn: its send() completes without suspending whenever the transport is writable
            if self.writable.is_set():
                await self.raw_send(message)
            else:
                self.push(text)
            return
        self.busy_since = time.monotonic()
        self.inline = True
        try:
            async with asyncio.timeout(INLINE_WAIT_S):
                await self.raw_send(message)
        except TimeoutError:
            self.outbox.appendleft(text)
        finally:
            self.inline = False
        if self.outbox:
            self._wake_writer()  # the writer sends the rest, in order
        else:
            self.busy_since = None

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
                if self.inline:
                    continue  # deliver() is writing; it wakes this task again when it is done
                while self.outbox:
                    await self.raw_send({"type": "websocket.send", "text": self.outbox.popleft()})
                self.busy_since = None
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the socket is gone; disconnect() cleans up
            log.debug("websocket writer stopped", exc_info=True)

    def _send_json(self, message: dict[str, Any]) -> None:
        self.push(encode(message))

    # --- client messages ---------------------------------------------------------------------------
    # Whatever a client sends is answered (an `error` with code `invalid` or `too_large` when it is not the
    # protocol) and the socket stays open: an exception here would drop it without a close frame.
    def _error(self, code: str, detail: str, sub_id: str | None = None) -> None:
        message = {"type": "error", "code": code, "detail": detail}
        if sub_id:
            message["id"] = sub_id
        self._send_json(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if not hasattr(self, "subs"):
            return  # closed in connect(): not signed in
        if text_data is None:
            self._error("invalid", "binary frames are not part of the protocol: send JSON text")
            return
        limit = conf.max_message_chars()
        if len(text_data) > limit:
            self._error("too_large", f"a message may have at most {limit} characters, not {len(text_data)}")
            return
        try:
            content = json.loads(text_data)
        except RecursionError:
            self._error("invalid", f"nested more than {MAX_DEPTH} levels deep")
            return
        except ValueError as exc:  # not JSON, or a number of more than 4,300 digits
            self._error("invalid", f"not JSON: {str(exc)[:200]}")
            return
        if too_deep(content, MAX_DEPTH):
            self._error("invalid", f"nested more than {MAX_DEPTH} levels deep")
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            self._error("invalid", "messages are JSON objects")
            return
        action, raw_id = content.get("action"), content.get("id")
        if raw_id is None:
            raw_id = ""
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
            self._error("invalid", "'id' must be a string")
            return
        sub_id = str(raw_id)[:64]
        if action == "ping":
            self._send_json({"type": "pong"})
        elif action == "subscribe":
            await self._subscribe(sub_id, content.get("topic"), content.get("params"))
        elif action == "unsubscribe":
            sub = self.subs.pop(sub_id, None)
            self.raw_params.pop(sub_id, None)
            if sub is not None:
                self.hub.remove(sub)
            self._send_json({"type": "unsubscribed", "id": sub_id})
        elif action == "resync":
            if sub_id in self.subs:
                await self._snapshot(self.subs[sub_id], reason="requested")
            else:
                self._error("invalid", f"no subscription {sub_id!r} to resync", sub_id)
        else:
            shown = repr(action[:64]) if isinstance(action, str) else f"of type {type(action).__name__}"
            self._error("invalid", f"unknown action {shown}: subscribe, unsubscribe, resync, ping", sub_id)

    async def _subscribe(self, sub_id: str, topic_name: Any, params: Any) -> None:
        topic = TOPICS.get(topic_name) if isinstance(topic_name, str) else None
        if not sub_id:
            self._error("invalid", "a subscription needs an id")
            return
        if topic is None:
            self._error("unknown_topic", f"topics: {', '.join(TOPICS)}", sub_id)
            return
        if params is None:
            params = {}
        if not isinstance(params, dict):
            self._error("invalid", "'params' must be an object", sub_id)
            return
        if len(self.subs) >= MAX_SUBSCRIPTIONS and sub_id not in self.subs:
            self._error("too_many", f"at most {MAX_SUBSCRIPTIONS}", sub_id)
            return
        try:
            cleaned = topic.authorize(self.user, params)
        except SubscriptionError as exc:
            self._error(exc.code, exc.detail, sub_id)
            return
        except (TypeError, ValueError):  # a topic that let ill-typed params through: still the client's error
            log.warning("topic %s failed on its params", topic.name, exc_info=True)
            self._error("invalid", f"the params of {topic.name} are not valid", sub_id)
            return
        old = self.subs.get(sub_id)
        if old is not None:
            self.hub.remove(old)
        sub = Subscription(self, sub_id, topic, cleaned, self.audience)
        self.subs[sub_id] = sub
        self.raw_params[sub_id] = params  # re-authorized when the account changes
        self._send_json({"type": "subscribed", "id": sub_id, "topic": topic.name})
        await self.hub.add(sub)  # collects batches from now on ...
        await self._snapshot(sub)  # ... so nothing committed after the snapshot's query is missed

    async def _snapshot(self, sub: Subscription, reason: str | None = None) -> None:
        sub.ready = False
        if reason:
            self._send_json({"type": "resync", "id": sub.id, "reason": reason})
        try:
            items = await self.hub.snapshot_text(sub, self.user)
        except Exception:  # noqa: BLE001 - the database is away: say so; the client retries with resync
            log.warning("snapshot for %s failed", sub.topic.name, exc_info=True)
            self._send_json({"type": "error", "id": sub.id, "code": "unavailable", "detail": "try again shortly"})
            return
        if self.subs.get(sub.id) is not sub:
            return  # unsubscribed (or replaced) meanwhile
        sub.seq = 0
        self.push(
            f'{{"type":"snapshot","id":{encode(sub.id)},"topic":{encode(sub.topic.name)},"seq":0,"items":{items}}}'
        )
        sub.ready = True  # what it collected meanwhile goes out as update 1
        if sub.pending:
            self.hub.kick()

    def resync(self, sub: Subscription, reason: str) -> None:
        """Called by the hub when the channel layer lost batches of this subscription's topic."""
        if not self.closing and self.subs.get(sub.id) is sub:
            asyncio.get_running_loop().create_task(self._snapshot(sub, reason=reason))
