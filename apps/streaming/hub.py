"""The fan-out hub: one per server process (per event loop), between the Redis channel layer and the sockets.

Publishers `group_send` each batch to a topic's group through the Redis channel layer (apps/streaming/
publish.py). If every socket's consumer were a member of the group, Channels would hand each batch to each
consumer separately: with 1,000 sockets that is 1,000 deserialisations, 1,000 handler dispatches (each with a
thread hop to close database connections) and 1,000 JSON encodings of the same items per batch
(bench/bench_fanout.py measured 185 deliveries/s and a p99 of 15 s that way). Instead the hub is the
process's one member of each group:

- it receives each batch once, encodes each item's JSON once, and files the item under the key it replaces
  (topic.key) in every subscription of this process that wants it (topic.wants);
- at most once per interval on average (CITYTWIN_STREAM_INTERVAL_S; bursts of two) it writes each
  subscription with something new one pre-encoded `update` (seq + 1), all from one task: a batch goes out at
  once unless the rate is spent, then it waits; a socket whose transport is paused hands the update to its own
  writer task instead of holding up the rest; a socket still busy sending keeps collecting
  (later items replace earlier ones), and one busy for SEND_TIMEOUT_S is closed (4008) so it never slows
  the others;
- it numbers batches per topic: a gap (the channel layer is lossy) resyncs that topic's subscriptions;
- it is the one member of each signed-in user's account group (publish.account_group) and passes an
  `account.changed` on to that user's sockets here, so a socket costs no channel-layer subscription of its own;
- it shares snapshots: subscriptions with the same topic, params and audience (the user's role) get one
  snapshot query, kept current with every later batch for `topic.snapshot_ttl_s`, so 1,000 sockets opening
  at once cost one query, not 1,000.

Ordering: a subscription is filed (and collects batches) BEFORE its snapshot is taken, and its collected
items go out as its first update after the snapshot. A reading committed after the snapshot's query began
therefore reaches the client either in the snapshot or as an update, never neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from . import conf
from .publish import ACCOUNT_MESSAGE_TYPE, account_group
from .subscriptions import SharedSnapshot, Socket, Subscription, encode
from .topics import Item

__all__ = ["SEND_TIMEOUT_S", "Hub", "Socket", "Subscription", "encode", "get_hub"]

log = logging.getLogger(__name__)
SEND_TIMEOUT_S = 5.0
FLUSH_BURST = 2.0


class Hub:
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.groups: set[str] = set()
        # topic name -> params (encoded) -> subscriptions: `wants` runs once per item and distinct params
        self.subs: dict[str, dict[str, set[Subscription]]] = {}
        self.last_seq: dict[str, int] = {}
        self.snapshots: dict[tuple[str, str, str], SharedSnapshot] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self._start_lock = asyncio.Lock()
        # account group -> this process's sockets of that user; joins and leaves of account groups in order
        self.accounts: dict[str, set[Socket]] = {}
        self._account_lock = asyncio.Lock()
        self._flush_handle: asyncio.TimerHandle | None = None
        self.tokens, self.tokens_at = FLUSH_BURST, self.loop.time()
        self.interval = conf.stream_interval_s()
        self.stats = {
            "batches": 0,
            "gaps": 0,
            "snapshot_queries": 0,
            "snapshots_shared": 0,
            "updates": 0,
            "busy_skips": 0,
            "closed_slow": 0,
        }

    # --- membership --------------------------------------------------------------------------------
    async def _start(self) -> None:
        if self.channel is not None:
            return  # started (every socket asks, so without the lock)
        async with self._start_lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel("hub.")
                self.tasks = [asyncio.create_task(self._receive_forever(), name="hub-receive")]
                report = float(os.environ.get("CITYTWIN_HUB_REPORT_S", "0") or 0)
                if report > 0:
                    self.tasks.append(asyncio.create_task(self._report_forever(report), name="hub-report"))

    async def add(self, sub: Subscription) -> None:
        """File a subscription (it collects batches from now on); the caller then sends its snapshot."""
        await self._start()
        if sub.topic.group not in self.groups:
            assert self.channel is not None
            await self.layer.group_add(sub.topic.group, self.channel)
            self.groups.add(sub.topic.group)
        self.file(sub)

    async def watch_account(self, user_id: int, socket: Socket) -> None:
        """Pass this user's account changes on to `socket` (one channel-layer subscription per user)."""
        await self._start()
        group = account_group(user_id)
        self.accounts.setdefault(group, set()).add(socket)
        if group not in self.groups:
            async with self._account_lock:
                if group not in self.groups and self.accounts.get(group):
                    assert self.channel is not None
                    await self.layer.group_add(group, self.channel)
                    self.groups.add(group)

    def unwatch_account(self, user_id: int, socket: Socket) -> None:
        group = account_group(user_id)
        sockets = self.accounts.get(group)
        if sockets is None:
            return
        sockets.discard(socket)
        if not sockets:
            del self.accounts[group]
            self.loop.create_task(self._leave_account(group))

    async def _leave_account(self, group: str) -> None:
        async with self._account_lock:
            if group not in self.groups or self.accounts.get(group):
                return  # already left, or the user has a socket here again
            self.groups.discard(group)
            try:
                assert self.channel is not None
                await self.layer.group_discard(group, self.channel)
            except Exception:  # noqa: BLE001 - Redis away: an idle subscription is harmless
                log.debug("stream hub: could not leave %s", group, exc_info=True)

    def on_account_changed(self, message: dict[str, Any]) -> None:
        for socket in list(self.accounts.get(account_group(int(message["user_id"])), ())):
            self.loop.create_task(socket.account_changed(message))

    def file(self, sub: Subscription) -> None:
        self.subs.setdefault(sub.topic.name, {}).setdefault(sub.params_key, set()).add(sub)

    def remove(self, sub: Subscription) -> None:
        group = self.subs.get(sub.topic.name, {}).get(sub.params_key)
        if group is not None:
            group.discard(sub)
            if not group:
                del self.subs[sub.topic.name][sub.params_key]

    # --- snapshots ---------------------------------------------------------------------------------
    async def snapshot(self, sub: Subscription, user: Any) -> list[Item]:
        """The current state for this subscription: a shared snapshot of the same topic, params and
        audience if one is fresh or being queried, else a new query."""
        return list((await self._shared(sub, user)).items.values())

    async def snapshot_text(self, sub: Subscription, user: Any) -> str:
        """The same as a JSON array, encoded once per shared snapshot and change: a thousand subscribers
        opening at once cost one query and one encoding, not a thousand."""
        return (await self._shared(sub, user)).items_text()

    async def _shared(self, sub: Subscription, user: Any) -> SharedSnapshot:
        topic = sub.topic
        key = (topic.name, sub.params_key, sub.audience)
        entry = self.snapshots.get(key)
        now = time.monotonic()
        if (
            entry is not None
            and entry.done is not None
            and entry.done.done()
            and now - entry.started > topic.snapshot_ttl_s
        ):
            entry = None  # too old: query again
        if entry is None:
            entry = SharedSnapshot(topic, sub.params, now, done=self.loop.create_future())
            self.snapshots[key] = entry
            self.stats["snapshot_queries"] += 1
            try:
                rows = await database_sync_to_async(topic.snapshot)(user, sub.params)
            except BaseException as exc:
                assert entry.done is not None
                entry.done.set_exception(exc)
                entry.done.exception()  # retrieved: no "never retrieved" warning when nobody else waits
                if self.snapshots.get(key) is entry:
                    del self.snapshots[key]
                raise
            entry.items = {topic.key(item): item for item in rows}
            assert entry.done is not None
            entry.done.set_result(None)
            for batch in entry.during:
                entry.apply(batch)
            entry.during.clear()
        else:
            self.stats["snapshots_shared"] += 1
            assert entry.done is not None
            await asyncio.shield(entry.done)
        return entry

    # --- batches -----------------------------------------------------------------------------------
    async def _receive_forever(self) -> None:
        assert self.channel is not None
        delay = 0.2
        while True:
            try:
                message = await self.layer.receive(self.channel)
                delay = 0.2
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis away: wait, then go on (seq gaps resync the clients)
                log.warning("stream hub: channel layer receive failed; retrying in %.1f s", delay, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            try:
                if message.get("type") == ACCOUNT_MESSAGE_TYPE:
                    self.on_account_changed(message)
                else:
                    self.on_batch(message)
            except Exception:  # noqa: BLE001 - one bad batch must not stop the stream
                log.exception("stream hub: could not route a batch")

    def on_batch(self, message: dict[str, Any]) -> None:
        topic_name = str(message.get("topic"))
        seq = int(message.get("seq", 0))
        items: list[Item] = list(message.get("items") or [])
        self.stats["batches"] += 1
        last = self.last_seq.get(topic_name)
        # Two publishers can race, so a batch may arrive late: keep the highest number seen.
        self.last_seq[topic_name] = max(seq, last or 0)
        for (name, _, _), entry in list(self.snapshots.items()):
            if name == topic_name:
                entry.apply(items)
        groups = self.subs.get(topic_name, {})
        encoded: dict[int, tuple[Any, str]] = {}
        for group in groups.values():
            if not group:
                continue
            first = next(iter(group))
            wanted: dict[Any, str] = {}
            for i, item in enumerate(items):
                if first.topic.wants(item, first.params):
                    pair = encoded.get(i)
                    if pair is None:
                        pair = encoded[i] = (first.topic.key(item), encode(item))
                    wanted[pair[0]] = pair[1]
            if wanted:
                for sub in group:
                    sub.pending.update(wanted)
        if encoded:
            self._schedule_flush()
        if last is not None and seq > last + 1:
            # The channel layer dropped batches: every snapshot of this topic is stale.
            self.stats["gaps"] += 1
            for key in [k for k in self.snapshots if k[0] == topic_name]:
                del self.snapshots[key]
            for sub in [sub for group in groups.values() for sub in group]:
                resync = getattr(sub.socket, "resync", None)
                if resync is not None:
                    resync(sub, f"missed batches {last + 1}..{seq - 1}")

    # --- sending -----------------------------------------------------------------------------------
    def _schedule_flush(self) -> None:
        """Send updates at most once per interval on average (a token bucket: one token per interval, at
        most FLUSH_BURST saved up): a batch that finds a token goes out at once, else it waits for the next
        token. A strict "one per interval since the last flush" would lock onto the slowest batch's phase:
        one batch delayed by 90 ms would delay every later one by up to 90 ms (measured in bench_fanout)."""
        if self._flush_handle is not None:
            return
        now = self.loop.time()
        self.tokens = min(FLUSH_BURST, self.tokens + (now - self.tokens_at) / self.interval)
        self.tokens_at = now
        delay = 0.0 if self.tokens >= 1 else (1 - self.tokens) * self.interval
        self._flush_handle = self.loop.call_later(delay, self._flush_now)

    def kick(self) -> None:
        """A subscription became ready with items waiting."""
        self._schedule_flush()

    def _flush_now(self) -> None:
        self._flush_handle = None
        now = self.loop.time()
        self.tokens = min(FLUSH_BURST, self.tokens + (now - self.tokens_at) / self.interval) - 1
        self.tokens_at = now
        try:
            if self.flush():
                self._schedule_flush()  # a busy socket kept its items: try again next interval
        except Exception:  # noqa: BLE001
            log.exception("stream hub: flush failed")

    def flush(self) -> int:
        """Hand every ready subscription with new items its update; returns how many kept items back."""
        now = time.monotonic()
        waiting = 0
        # Two lists, not a (socket, text) pair each: 5,000 pairs per flush outlived the collector's young
        # generations while _deliver wrote them, piled up in the old one and set off a full collection (half a
        # second with 5,000 sockets) every 20-30 s (bench_fanout's hub report).
        sockets: list[Socket] = []
        texts: list[str] = []
        # copies: a socket closed as too slow removes its subscriptions (and maybe their group) meanwhile
        for groups in list(self.subs.values()):
            for group in list(groups.values()):
                for sub in list(group):
                    if not sub.pending:
                        continue
                    if not sub.ready:
                        waiting += 1
                        continue
                    busy = sub.socket.busy_for(now)
                    if busy > SEND_TIMEOUT_S:
                        sub.socket.too_slow()
                        self.stats["closed_slow"] += 1
                        continue
                    if busy > 0:
                        waiting += 1
                        self.stats["busy_skips"] += 1
                        continue  # still sending the last one: keep collecting (later items replace earlier)
                    sockets.append(sub.socket)
                    texts.append(sub.update_text())
        if sockets:
            self.stats["updates"] += len(sockets)
            self.loop.create_task(self._deliver(sockets, texts))
        return waiting

    async def _deliver(self, sockets: list[Socket], texts: list[str]) -> None:
        """One task per flush writes every update; a socket's send completes at once unless its transport
        is paused, and then the socket's own writer takes over (Socket.deliver)."""
        for socket, text in zip(sockets, texts, strict=True):
            try:
                await socket.deliver(text)
            except Exception:  # noqa: BLE001 - that socket is gone; its disconnect cleans up
                log.debug("stream hub: delivery failed", exc_info=True)

    async def _report_forever(self, every: float) -> None:
        """Log the counters, the event loop's lag and the longest pause of the garbage collector's full
        collections every `every` s (CITYTWIN_HUB_REPORT_S; off by default)."""
        pauses: list[float] = []
        started = [0.0]

        def timed(phase: str, info: dict[str, Any]) -> None:
            if info.get("generation") == 2:
                if phase == "start":
                    started[0] = time.perf_counter()
                else:
                    pauses.append((time.perf_counter() - started[0]) * 1000)

        gc.callbacks.append(timed)
        try:
            while True:
                before = self.loop.time()
                await asyncio.sleep(every)
                lag_ms = (self.loop.time() - before - every) * 1000
                sockets = sum(len(group) for groups in self.subs.values() for group in groups.values())
                full = f"{len(pauses)} full collections (longest {max(pauses, default=0):.0f} ms)"
                pauses.clear()
                log.info("stream hub: %d subscriptions, loop lag %.0f ms, %s, %s", sockets, lag_ms, full, self.stats)
        finally:
            gc.callbacks.remove(timed)

    async def close(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def get_hub() -> Hub:
    """The hub of the running event loop (a server process has one)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for old in [lp for lp in _hubs if lp.is_closed()]:
            del _hubs[old]
        hub = _hubs[loop] = Hub()
    return hub
