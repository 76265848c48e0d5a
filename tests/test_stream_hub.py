"""The stream hub (apps/streaming/hub.py): routing, batching, shared snapshots, gaps and slow sockets. The
last test goes through the real Redis channel layer; the others feed batches to the hub directly."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from typing import Any

import pytest

from apps.streaming.hub import SEND_TIMEOUT_S, Hub, Subscription
from apps.streaming.publish import publish
from apps.streaming.topics import TOPICS, Topic

pytestmark = pytest.mark.asyncio


class FakeSocket:
    def __init__(self, busy: float = 0.0) -> None:
        self.sent: list[dict[str, Any]] = []
        self.busy = busy
        self.slow = False
        self.resyncs: list[str] = []

    def push(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def deliver(self, text: str) -> None:
        self.push(text)

    def busy_for(self, now: float) -> float:
        return self.busy

    def too_slow(self) -> None:
        self.slow = True
        for hub, sub in getattr(self, "filed", []):  # as the consumer does: its subscriptions leave the hub
            hub.remove(sub)

    def resync(self, sub: Subscription, reason: str) -> None:
        self.resyncs.append(reason)


async def flush(hub: Hub) -> None:
    """What the hub's timer does: hand out the updates, then let its delivery task run."""
    hub.flush()
    for _ in range(3):
        await asyncio.sleep(0)


def reading(sensor: str, kind: str = "traffic", lon: float = 24.94, value: float = 1.0) -> dict[str, Any]:
    return {"sensor": sensor, "kind": kind, "lon": lon, "lat": 60.17, "time": "t", "values": {"v": value}}


def readings_sub(socket: FakeSocket, sub_id: str = "r", **params: Any) -> Subscription:
    cleaned = {"kinds": params.get("kinds", ["traffic", "air_quality", "energy"]), "bbox": params.get("bbox")}
    sub = Subscription(socket, sub_id, TOPICS["readings"], cleaned, "operator")
    sub.ready = True
    return sub


async def test_routes_each_item_to_the_subscriptions_that_want_it_and_batches_per_interval() -> None:
    hub = Hub()
    everything, traffic_west, air = FakeSocket(), FakeSocket(), FakeSocket()
    subs = [
        readings_sub(everything),
        readings_sub(traffic_west, kinds=["traffic"], bbox=(24.90, 60.0, 24.945, 61.0)),
        readings_sub(air, kinds=["air_quality"]),
    ]
    for sub in subs:
        hub.file(sub)
    hub.on_batch({"topic": "readings", "seq": 1, "items": [reading("a", value=1), reading("b", lon=24.95)]})
    hub.on_batch({"topic": "readings", "seq": 2, "items": [reading("a", value=2), reading("q", kind="air_quality")]})
    await flush(hub)
    (update,) = everything.sent
    assert update["type"] == "update" and update["id"] == "r" and update["topic"] == "readings" and update["seq"] == 1
    # later items replace earlier ones of the same sensor within an interval
    assert {i["sensor"]: i["values"]["v"] for i in update["items"]} == {"a": 2, "b": 1.0, "q": 1.0}
    assert [i["sensor"] for i in traffic_west.sent[0]["items"]] == ["a"]  # b is east of the box, q is air
    assert [i["sensor"] for i in air.sent[0]["items"]] == ["q"]
    hub.flush()  # nothing new: nothing sent
    assert len(everything.sent) == 1
    hub.on_batch({"topic": "readings", "seq": 3, "items": [reading("b", lon=24.95, value=5)]})
    await flush(hub)
    assert everything.sent[1]["seq"] == 2 and len(traffic_west.sent) == 1 and len(air.sent) == 1


async def test_batches_go_out_at_once_until_the_rate_is_spent_then_one_update_per_interval() -> None:
    hub = Hub()
    hub.interval = 0.3
    socket = FakeSocket()
    hub.file(readings_sub(socket))
    for seq in (1, 2):  # a burst of two goes out at once (e.g. after one late batch) ...
        hub.on_batch({"topic": "readings", "seq": seq, "items": [reading("a", value=seq)]})
        await asyncio.sleep(0.02)
    assert [u["seq"] for u in socket.sent] == [1, 2]
    hub.on_batch({"topic": "readings", "seq": 3, "items": [reading("a", value=3)]})
    hub.on_batch({"topic": "readings", "seq": 4, "items": [reading("a", value=4)]})
    await asyncio.sleep(0.1)
    assert len(socket.sent) == 2  # ... then the rate is spent: collected ...
    await asyncio.sleep(0.4)
    assert [(u["seq"], u["items"][0]["values"]["v"]) for u in socket.sent] == [(1, 1), (2, 2), (3, 4)]  # ... one update
    await asyncio.sleep(0.7)  # quiet: the bucket refills (at most two saved up)
    for seq in (5, 6, 7):
        hub.on_batch({"topic": "readings", "seq": seq, "items": [reading("a", value=seq)]})
        await asyncio.sleep(0.02)
    assert [u["items"][0]["values"]["v"] for u in socket.sent[3:]] == [5, 6]
    await hub.close()


async def test_a_subscription_collects_before_its_snapshot_and_sends_after_it() -> None:
    hub = Hub()
    socket = FakeSocket()
    sub = readings_sub(socket)
    sub.ready = False
    hub.file(sub)
    hub.on_batch({"topic": "readings", "seq": 1, "items": [reading("a")]})
    await flush(hub)
    assert socket.sent == []  # not before its snapshot ...
    sub.ready = True
    await flush(hub)
    assert [i["sensor"] for i in socket.sent[0]["items"]] == ["a"]  # ... but not lost either


async def test_a_slow_socket_collects_and_is_closed_after_the_timeout_without_holding_up_the_others() -> None:
    hub = Hub()
    slow, stuck, fast = FakeSocket(busy=1.0), FakeSocket(busy=SEND_TIMEOUT_S + 1), FakeSocket()
    for socket, sub_id in ((slow, "s"), (fast, "f")):
        hub.file(readings_sub(socket, sub_id))
    stuck_sub = readings_sub(stuck, "t", kinds=["traffic"])  # alone in its group: closing it empties the group
    stuck.filed = [(hub, stuck_sub)]
    hub.file(stuck_sub)
    hub.on_batch({"topic": "readings", "seq": 1, "items": [reading("a", value=1)]})
    await flush(hub)
    hub.on_batch({"topic": "readings", "seq": 2, "items": [reading("a", value=2), reading("b")]})
    await flush(hub)
    assert [u["seq"] for u in fast.sent] == [1, 2]
    assert slow.sent == [] and not slow.slow and stuck.slow
    assert stuck_sub not in {sub for group in hub.subs["readings"].values() for sub in group}
    slow.busy = 0.0  # it caught up: one update with the newest of everything it missed
    await flush(hub)
    assert [(u["seq"], {i["sensor"]: i["values"]["v"] for i in u["items"]}) for u in slow.sent] == [
        (1, {"a": 2, "b": 1.0})
    ]


async def test_a_gap_in_the_batch_numbers_resyncs_the_topic_and_drops_its_shared_snapshots() -> None:
    hub = Hub()
    topic = counting_topic([], [{"id": 1, "kind": "k"}])
    socket, other = FakeSocket(), FakeSocket()
    hub.file(Subscription(socket, "t", topic, {"kind": "k"}, "operator", ready=True))
    hub.file(readings_sub(other))
    await hub.snapshot(Subscription(FakeSocket(), "x", topic, {"kind": "k"}, "operator"), None)
    assert len(hub.snapshots) == 1
    hub.on_batch({"topic": "things", "seq": 4, "items": []})
    hub.on_batch({"topic": "things", "seq": 5, "items": []})
    hub.on_batch({"topic": "things", "seq": 4, "items": []})  # a late batch of a racing publisher: no gap
    hub.on_batch({"topic": "readings", "seq": 1, "items": []})
    assert socket.resyncs == [] and len(hub.snapshots) == 1
    hub.on_batch({"topic": "things", "seq": 9, "items": []})
    assert socket.resyncs == ["missed batches 6..8"] and other.resyncs == [] and hub.snapshots == {}


def counting_topic(calls: list[float], rows: list[dict[str, Any]], ttl: float = 10.0) -> Topic:
    def snapshot(user: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
        calls.append(time.monotonic())
        time.sleep(0.3)  # a query that takes a while: batches arrive meanwhile
        return [dict(r) for r in rows]

    return Topic(
        name="things",
        group="test.things",
        authorize=lambda user, params: params,
        snapshot=snapshot,
        wants=lambda item, params: item["kind"] == params["kind"],
        key=lambda item: item["id"],
        in_snapshot=lambda item: not item.get("gone"),
        snapshot_ttl_s=ttl,
    )


async def test_concurrent_subscriptions_share_one_snapshot_query_kept_current_by_later_batches() -> None:
    hub = Hub()
    calls: list[float] = []
    topic = counting_topic(calls, [{"id": 1, "kind": "k", "v": 1}, {"id": 2, "kind": "k", "v": 1}])
    subs = [Subscription(FakeSocket(), f"s{n}", topic, {"kind": "k"}, "operator") for n in range(50)]
    tasks = [asyncio.create_task(hub.snapshot(sub, None)) for sub in subs]
    await asyncio.sleep(0.1)  # the query is running: this batch must not be lost
    hub.on_batch({"topic": "things", "seq": 1, "items": [{"id": 1, "kind": "k", "v": 2}, {"id": 9, "kind": "x"}]})
    results = await asyncio.gather(*tasks)
    assert len(calls) == 1 and hub.stats["snapshots_shared"] == 49
    for items in results:
        assert sorted((i["id"], i["v"]) for i in items) == [(1, 2), (2, 1)]
    # later batches keep the shared snapshot current, and an item that left (gone) leaves it
    hub.on_batch(
        {"topic": "things", "seq": 2, "items": [{"id": 3, "kind": "k", "v": 1}, {"id": 2, "kind": "k", "gone": 1}]}
    )
    late = await hub.snapshot(Subscription(FakeSocket(), "late", topic, {"kind": "k"}, "operator"), None)
    assert sorted(i["id"] for i in late) == [1, 3] and len(calls) == 1
    # other params or another audience: their own query
    await hub.snapshot(Subscription(FakeSocket(), "o", topic, {"kind": "x"}, "operator"), None)
    await hub.snapshot(Subscription(FakeSocket(), "p", topic, {"kind": "k"}, "planner"), None)
    assert len(calls) == 3


async def test_a_shared_snapshot_is_encoded_once_until_a_batch_changes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import apps.streaming.subscriptions as snapshots_module  # where a shared snapshot encodes its items

    encoded: list[Any] = []
    real = snapshots_module.encode
    # items are dicts; the subscriptions' ids, names and params are encoded too, and not counted here
    monkeypatch.setattr(
        snapshots_module,
        "encode",
        lambda message: (encoded.append(message) if isinstance(message, dict) else None) or real(message),
    )
    hub = Hub()
    topic = counting_topic([], [{"id": 1, "kind": "k", "v": 1}, {"id": 2, "kind": "k", "v": 1}])
    texts = [await hub.snapshot_text(Subscription(FakeSocket(), f"s{n}", topic, {"kind": "k"}, "operator"), None)
             for n in range(20)]  # fmt: skip
    assert len(set(texts)) == 1 and json.loads(texts[0]) == [
        {"id": 1, "kind": "k", "v": 1},
        {"id": 2, "kind": "k", "v": 1},
    ]
    items_encoded = len(encoded)
    assert items_encoded == 2  # each item once, for all 20 subscribers
    hub.on_batch({"topic": "things", "seq": 1, "items": [{"id": 9, "kind": "x"}]})  # not wanted: nothing changes
    assert await hub.snapshot_text(Subscription(FakeSocket(), "t", topic, {"kind": "k"}, "operator"), None) == texts[0]
    hub.on_batch({"topic": "things", "seq": 2, "items": [{"id": 2, "kind": "k", "v": 5}]})
    changed = await hub.snapshot_text(Subscription(FakeSocket(), "u", topic, {"kind": "k"}, "operator"), None)
    assert json.loads(changed)[1]["v"] == 5 and len(encoded) == items_encoded + 2


async def test_a_shared_snapshot_expires_and_a_failed_query_is_not_shared() -> None:
    hub = Hub()
    calls: list[float] = []
    topic = counting_topic(calls, [{"id": 1, "kind": "k"}], ttl=0.0)
    sub = Subscription(FakeSocket(), "s", topic, {"kind": "k"}, "operator")
    await hub.snapshot(sub, None)
    await hub.snapshot(sub, None)
    assert len(calls) == 2

    def broken(user: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
        raise RuntimeError("database away")

    failing = Topic(**{**topic.__dict__, "snapshot": broken, "snapshot_ttl_s": 10.0})
    fsub = Subscription(FakeSocket(), "f", failing, {"kind": "z"}, "operator")
    with pytest.raises(RuntimeError):
        await hub.snapshot(fsub, None)
    assert not [key for key in hub.snapshots if '"z"' in key[1]]  # the next subscriber queries again


async def test_batches_published_through_the_redis_channel_layer_reach_the_socket() -> None:
    hub = Hub()
    socket = FakeSocket()
    sub = readings_sub(socket, kinds=["energy"])
    await hub.add(sub)
    try:
        items = [reading("m1", kind="energy", value=3.5), reading("t1", kind="traffic")]
        # publish() is what the ingest worker calls (sync, after its commit)
        thread = threading.Thread(target=publish, args=(TOPICS["readings"].group, "readings", items))
        thread.start()
        thread.join()
        deadline = time.monotonic() + 5
        while not socket.sent and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        (update,) = socket.sent
        assert [(i["sensor"], i["values"]) for i in update["items"]] == [("m1", {"v": 3.5})]
        assert hub.stats["batches"] == 1
    finally:
        await hub.close()


@pytest.mark.parametrize("server_exposes_writable", [True, False])
async def test_a_socket_writes_inline_and_hands_a_paused_transport_to_its_writer_in_order(
    server_exposes_writable: bool,
) -> None:
    from apps.streaming.consumers import CityConsumer

    writable = asyncio.Event()
    writable.set()
    wire: list[str] = []

    async def server_send(message: dict[str, Any]) -> None:  # what uvicorn does: wait for writable, then write
        await writable.wait()
        wire.append(message["text"])

    consumer = CityConsumer()
    consumer.raw_send = server_send
    consumer.writable = writable if server_exposes_writable else None  # uvicorn's, or an unknown server
    consumer.outbox, consumer.wake = deque(), asyncio.Event()
    consumer.busy_since, consumer.inline, consumer.closing = None, False, False
    consumer.writer = asyncio.create_task(consumer._write_forever())
    try:
        await consumer.deliver("1")
        assert wire == ["1"] and consumer.busy_for(time.monotonic()) == 0  # written at once, not busy
        writable.clear()  # the client stops reading: the transport pauses
        await consumer.deliver("2")  # gives up after INLINE_WAIT_S: queued, nothing half written
        await consumer.deliver("3")
        consumer.push("4")
        assert wire == ["1"] and consumer.busy_for(time.monotonic()) > 0
        writable.set()
        for _ in range(10):
            await asyncio.sleep(0)
        assert wire == ["1", "2", "3", "4"] and consumer.busy_for(time.monotonic()) == 0
    finally:
        consumer.writer.cancel()
