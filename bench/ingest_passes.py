"""bench_ingest's MQTT passes that compare subscribers: the minimal subscriber the issue names as the baseline
for one reading per message, and one pass (live or draining a pre-filled broker) for any set of subscriber
processes (the minimal one, one run_ingest worker, two workers on a shared subscription).

The minimal subscriber (`bench_ingest.py minimal ...`, child_minimal below): paho-mqtt, QoS 1, persistent
session (clean_session False, a fixed client id), JSON decode (orjson, the parser ours uses), a sensor-code ->
id map read once, batched COPY (up to 2,000 messages, taken as soon as any wait: no flush sleep) straight
into telemetry_reading, commit, then a PUBACK per message (paho's manual ack). No checks, no staging table,
no latest values, no rollup queue, no dedupe: the cost of moving the messages, which is the ceiling.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import benchlib as bl

TOPIC = "citytwin/v1/sensors/{code}/readings"
COLUMNS = "sensor_id, time, received_at, seq, values"


def child_minimal(args: argparse.Namespace) -> None:
    """The baseline subscriber. Prints 'subscribed' once the broker granted the subscription."""
    import orjson
    import paho.mqtt.client as mqtt
    import psycopg

    conn = psycopg.connect(args.dsn)
    ids = dict(conn.execute("SELECT code, id FROM sensors_sensor WHERE code LIKE %s", [args.prefix + "-%"]).fetchall())
    conn.commit()
    queue: deque[mqtt.MQTTMessage] = deque()
    wake = threading.Event()
    stop = threading.Event()

    def on_message(client, userdata, message):  # noqa: ANN001, ANN202
        queue.append(message)
        wake.set()

    def on_connect(client, userdata, flags, reason, properties):  # noqa: ANN001, ANN202
        client.subscribe(args.topic, qos=1)

    def on_subscribe(client, userdata, mid, reasons, properties):  # noqa: ANN001, ANN202
        print("subscribed", flush=True)

    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.client_id, clean_session=False)
    client.manual_ack_set(True)
    client.on_message, client.on_connect, client.on_subscribe = on_message, on_connect, on_subscribe
    client.connect("127.0.0.1", args.port, keepalive=60)
    client.loop_start()
    stored = 0
    while not stop.is_set():
        wake.clear()
        if not queue:
            wake.wait(0.05)
            continue
        batch = [queue.popleft() for _ in range(min(len(queue), args.batch))]
        now = datetime.now(UTC)
        with conn.cursor() as cur, cur.copy(f"COPY telemetry_reading ({COLUMNS}) FROM STDIN") as copy:
            for m in batch:
                body = orjson.loads(m.payload)
                sid = ids[m.topic.split("/")[3]]
                for r in body if isinstance(body, list) else (body,):
                    copy.write_row((sid, r["time"], now, r.get("seq"), orjson.dumps(r["values"]).decode()))
                    stored += 1
        conn.commit()
        for m in batch:  # after the commit: at-least-once
            client.ack(m.mid, m.qos)
    print(json.dumps({"stored": stored}), flush=True)
    client.loop_stop()
    client.disconnect()
    os._exit(0)


def minimal_command(port: int, client_id: str, prefix: str, topic: str = TOPIC.format(code="+")) -> list[str]:
    return [
        bl.PYTHON,
        str(Path(__file__).with_name("bench_ingest.py")),
        "minimal",
        "--port",
        str(port),
        "--client-id",
        client_id,
        "--dsn",
        bl.PgTarget.from_url(bl.bench_database_url()).conninfo(),
        "--prefix",
        prefix,
        "--topic",
        topic,
    ]


def wait_line(bg: bl.Background, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in bg.log_path.read_text(errors="replace"):
            return
        if not bg.alive():
            break
        time.sleep(0.05)
    raise SystemExit(f"{bg.cmd[:4]} did not print {text!r}:\n{bg.log_tail()}")


Starter = Callable[[int, str], list[bl.Background]]  # (broker port, tag) -> subscriber processes, started


def run_pass(
    *,
    broker_cls: type,
    cleaner: object,
    poll_conn: object,
    publisher: Callable[[int, int], list[bl.Background]],
    n: int,
    max_seconds: float,
    start: Starter,
    ready: Callable[[int, list[bl.Background]], None],
    drain: bool,
    poll_until: Callable[..., list[tuple[float, int]]],
    commit_rate: Callable[[list[tuple[float, int]]], dict],
    last_json: Callable[[bl.Background, dict], dict],
    kill_after: float | None = None,
) -> dict:
    """One pass on a fresh private broker. Live: the subscribers are ready, then the publishers start; the
    rate is rows committed per second from the first to the last commit. Drain: the subscribers subscribe
    (their persistent sessions now exist) and are stopped; all n readings are published and acknowledged by
    the broker, which queues them; then the subscribers start again and the same rate is measured.
    kill_after: SIGKILL the first subscriber that many seconds into the stream (the scale-out fault run)."""
    with broker_cls() as broker:
        subs = start(broker.port, "")
        try:
            ready(broker.port, subs)
            cleaner()  # type: ignore[operator]
            if drain:
                for s in subs:
                    s.stop()
                pubs = publisher(broker.port, n)
                t_pub = time.time()
                for p in pubs:
                    p.wait(max_seconds + 5)
                stats = [last_json(p, {"published": 0, "acked": 0, "t0": t_pub, "t1": time.time()}) for p in pubs]
                subs = start(broker.port, "-drain")
                t_start = time.time()
            else:
                pubs = publisher(broker.port, n)
                t_start = time.time()
            killed = None
            if kill_after is not None:
                time.sleep(kill_after)
                proc = subs[0].proc
                assert proc is not None
                proc.kill()
                killed = time.time() - t_start
            samples = poll_until(cleaner, poll_conn, n, 0.05, deadline=t_start + max_seconds)
            for p in pubs:
                p.wait(1)
                p.stop()
            if not drain:
                stats = [last_json(p, {"published": 0, "acked": 0, "t0": t_start, "t1": time.time()}) for p in pubs]
            fold_lag = wait_for_fold(cleaner)
        finally:
            for s in subs:
                s.stop()
    res = commit_rate(samples)
    res.update(publish_totals(stats, n, res["stored"]))
    res.update({"fold_lag": fold_lag, "killed_at": killed})
    return res


def wait_for_fold(cleaner: object, limit: float = 120) -> float:
    """Seconds until the stored readings are all folded into the rollups (the worker folds every second)."""
    t_stored = time.time()
    while cleaner.pending() and time.time() - t_stored < limit:  # type: ignore[attr-defined]
        time.sleep(0.05)
    return time.time() - t_stored


def publish_totals(stats: list[dict], n: int, stored: int) -> dict:
    """What the publishers reported (their last JSON lines), summed: published, acked, the broker's rate."""
    acked = sum(st["acked"] for st in stats)
    pub_secs = max(st["t1"] for st in stats) - min(st["t0"] for st in stats)
    return {
        "n": n,
        "complete": stored >= n,
        "published": sum(st["published"] for st in stats),
        "acked": acked,
        "publish_rate": acked / pub_secs if pub_secs > 0 else float("nan"),
    }


def pass_text(m: dict) -> str:
    done = "all" if m["complete"] else f"time limit: {m['stored']:,} of {m['n']:,}"
    return (
        f"{m['rate']:8,.0f} rows/s ({done} stored, {m['seconds']:.1f} s first to last commit; broker acked "
        f"{m['acked']:,} messages at {m['publish_rate']:,.0f}/s)"
    )


def started(bg: bl.Background) -> bl.Background:
    bg.__enter__()
    return bg
