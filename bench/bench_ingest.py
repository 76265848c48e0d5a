"""Sensor ingest: MQTT -> run_ingest -> PostgreSQL, and HTTP batches -> /api/ingest/readings/, both against a
raw `psql \\copy` of the same readings into the same partitioned table; plus publish -> commit latency.

Data: 1,000 traffic sensors `bench-ing-0001`... (created in citytwin_bench), N readings (default 100,000:
100 per sensor, 30 s apart, ending 5 minutes ago, all in the current month's partition), each
{"vehicle_count", "mean_speed_kmh", "occupancy_pct"}, written to bench/out/ingest_* once per run.
Before every pass, untimed: TRUNCATE of that month's partition of telemetry_reading (only benchmark
sensors live there; otherwise only their rows are DELETEd) and the benchmark sensors' rows in
telemetry_pending_rollup, telemetry_rollup, telemetry_latest, telemetry_alert and the quarantine are deleted
(then VACUUM). The rate counts readings committed (the MQTT worker acknowledges them then); the rollups are
folded in from telemetry_pending_rollup every second and trail them: each MQTT round also prints how long
after the last commit the rollups were complete.
The processes get their own Redis channel-layer and cache prefixes (the stack's Redis is shared).

a) MQTT. Ours: `manage.py run_ingest --url mqtt://127.0.0.1:<port> --client-id bench-ingest-<pid>` (one
   worker, default batch 2000, written as soon as messages wait, DEBUG off) fed by P publisher processes (paho, QoS 1, 1,000
   in flight each) publishing all N readings as fast as they can; rate = rows committed per second from
   the first to the last commit, seen by polling count(*) of the partition every 50 ms; cut off after
   --max-seconds (then the rate over what was committed).
   The broker is a PRIVATE Mosquitto started for each pass on a free loopback port with the stack's own
   config (docker/mosquitto/dev.conf: persistence saved on a clock, autosave_interval 1 with
   autosave_on_changes false, as in production; max_inflight_messages 2000, max_queued_messages 100000)
   and a fresh persistence dir in /tmp, stopped (queue and all) afterwards: the shared stack broker (18839)
   holds persistent sessions of earlier test workers subscribed to the same topic, which would each queue
   and persist every benchmark reading and later feed them into other databases. After the rounds, one
   pass each with the former setting (autosave_on_changes true: the whole persistence file rewritten after
   every message, ~205 msg/s) and with the broker's saving out of the way (persistence false), to separate
   the broker's share from the worker's.
   Baseline: `psql -c "\\copy telemetry_reading (sensor_id, time, received_at, seq, values) FROM 'file.csv' CSV"`
   of the same readings (wall clock of the psql command).
b) HTTP. Ours: POST batches of 1,000 readings (JSON list) to /api/ingest/readings/ on the real server
   (uvicorn city.asgi, 1 worker) with an ingest account's token, C concurrent keep-alive clients (threads);
   rate = rows stored / (last answer - first request); same cut-off. Baseline: the same COPY. An ingest
   worker (with its own private broker, no publishers) runs alongside, as in a deployment: it does the
   upkeep of HTTP ingest (fold, alerts); the round prints how long after the last answer the rollups were
   complete.
c) Latency. One publisher at a steady R readings/s (default 100/s and 1,000/s, 10 s each; stack broker
   config) puts its send time into `seq` (integer microseconds since the epoch); a poller selects new rows
   every 10 ms and records when each seq first appears: latency = first seen - sent (same machine, same
   clock). Its resolution is the poll cycle (10 ms + the query), printed. Readings not committed within
   30 s after the last send are counted, not timed.
Rounds alternate COPY, MQTT (one reading per message), MQTT arrays of 50 readings per message, HTTP. If
ours is below its goal (or with --profile), a per-stage timing of one
2,000-reading batch through apps.telemetry.services.ingest_readings() in-process, EXPLAIN ANALYZE of the
write SQL, and a cProfile of the worker follow.

d) One reading per message against the minimal subscriber (bench/ingest_passes.py), live and draining a
   pre-filled broker; --only mqtt1 runs just this. --only scale: 1 worker vs 2 on a shared subscription.
   --only http, --only arrays: just the COPY baseline against HTTP batches or MQTT arrays of 50, alternating.

    .venv/bin/python bench/bench_ingest.py [--rounds 3] [--readings 100000] [--max-seconds 60] [--profile]
                                           [--only all|mqtt1|scale|http|arrays]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import benchlib as bl
import ingest_passes as ip

SOURCE = "bench-ingest"
PREFIX = "bench-ing"
PROBE_CODE = "bench-ing-probe"  # an unknown sensor: its readings are quarantined, which shows the worker is live
TOPIC = "citytwin/v1/sensors/{code}/readings"
MQTT_GOAL, HTTP_GOAL = 0.4, 0.5  # arrays of GATEWAY_BATCH readings per message, HTTP batches: vs COPY
MINIMAL_GOAL = 0.85  # one reading per message, against the minimal subscriber
GATEWAY_BATCH = 50
COLUMNS = "sensor_id, time, received_at, seq, values"


# ----------------------------------------------------------------------------- child processes (subcommands)
def child_publish(args: argparse.Namespace) -> None:
    """Publish every `of`-th line (from `index`) of the data file as fast as possible, QoS 1. A reporter
    thread prints a JSON line with the counts every 0.5 s (the last line is the result, even if the parent
    has to kill this process while the broker is still behind)."""
    import paho.mqtt.client as mqtt

    with open(args.file) as fh:
        lines = [line.rstrip("\n").split("\t", 1) for line in fh][args.index :: args.of]
    if args.per_message > 1:  # a gateway: JSON arrays of up to K readings of one sensor, in time order
        by_code: dict[str, list[str]] = {}
        for code, payload in lines:
            by_code.setdefault(code, []).append(payload)
        lines = [
            [code, "[" + ",".join(payloads[k : k + args.per_message]) + "]"]
            for code, payloads in by_code.items()
            for k in range(0, len(payloads), args.per_message)
        ]
    n = len(lines)
    state = {"published": 0, "acked": 0, "t0": time.time(), "t1": time.time()}
    done = threading.Event()

    def on_publish(client, userdata, mid, reason, properties):  # noqa: ANN001, ANN202
        state["acked"] += 1
        state["t1"] = time.time()
        if state["acked"] >= n:
            done.set()

    def report() -> None:
        while True:
            print(json.dumps(state), flush=True)
            if done.wait(0.5):
                print(json.dumps(state), flush=True)
                return

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}", clean_session=True)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect("127.0.0.1", args.port, keepalive=60)
    client.loop_start()
    state["t0"] = time.time()
    threading.Thread(target=report, daemon=True).start()
    for code, payload in lines:
        client.publish(TOPIC.format(code=code), payload, qos=1)
        state["published"] += 1
    done.wait(args.timeout)
    done.set()
    time.sleep(0.1)
    os._exit(0)  # do not wait for paho's threads


def child_pace(args: argparse.Namespace) -> None:
    """Publish `rate` readings/s for `seconds`, round-robin over the sensors, in 10 ms ticks; seq = the send
    time in integer microseconds. Prints a JSON line with the counts every 0.5 s and at the end."""
    import paho.mqtt.client as mqtt

    codes = Path(args.file).read_text().split()
    state = {"sent": 0, "acked": 0, "seconds": 0.0}
    done = threading.Event()

    def on_publish(client, userdata, mid, reason, properties):  # noqa: ANN001, ANN202
        state["acked"] += 1

    def report() -> None:
        while not done.wait(0.5):
            print(json.dumps(state), flush=True)
        print(json.dumps(state), flush=True)

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pace-{os.getpid()}", clean_session=True)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect("127.0.0.1", args.port, keepalive=60)
    client.loop_start()
    threading.Thread(target=report, daemon=True).start()
    per_tick = args.rate / 100
    t0 = time.time()
    k = 0
    owed = 0.0
    while True:
        tick = t0 + k * 0.01
        now = time.time()
        if now < tick:
            time.sleep(tick - now)
        if tick - t0 >= args.seconds:
            break
        owed += per_tick
        while owed >= 1:
            owed -= 1
            code = codes[state["sent"] % len(codes)]
            stamp = time.time()
            when = datetime.fromtimestamp(stamp, UTC).isoformat()
            payload = json.dumps(
                {"time": when, "seq": int(stamp * 1e6), "values": {"vehicle_count": 12, "mean_speed_kmh": 41.5}}
            )
            client.publish(TOPIC.format(code=code), payload, qos=1)
            state["sent"] += 1
        k += 1
        state["seconds"] = time.time() - t0
    deadline = time.time() + 30
    while state["acked"] < state["sent"] and time.time() < deadline:
        time.sleep(0.01)
    done.set()
    time.sleep(0.1)
    os._exit(0)


# --------------------------------------------------------------------------------------------------- data
def make_data(sensors: list[tuple[int, str]], n: int, now: datetime) -> tuple[list[tuple], datetime, datetime]:
    """n readings: per sensor n/len(sensors), evenly spaced, ending 5 minutes before now, all in now's month."""
    per = max(1, n // len(sensors))
    end = now - timedelta(minutes=5)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = max(end - timedelta(seconds=30 * per), month_start + timedelta(seconds=1))
    step = (end - start) / per
    if step < timedelta(milliseconds=1):
        raise SystemExit("too close to the start of the month for this many readings; try again later")
    received = now.replace(microsecond=0)
    rows = []
    for j in range(per):
        when = (start + j * step).replace(microsecond=0) if step >= timedelta(seconds=1) else start + j * step
        phase = j / per
        for i, (sid, code) in enumerate(sensors):
            values = {
                "vehicle_count": float(10 + (i * 7 + j * 3) % 30),
                "mean_speed_kmh": round(35 + 20 * phase + (i % 10), 1),
                "occupancy_pct": round(5 + (i + j) % 40 * 0.5, 1),
            }
            rows.append((sid, code, when, j, values, received))
    return rows, start, end


def write_files(rows: list[tuple], sensors: list[tuple[int, str]]) -> dict[str, Path]:
    bl.OUT.mkdir(parents=True, exist_ok=True)
    paths = {
        "mqtt": bl.OUT / "ingest_mqtt.tsv",
        "csv": bl.OUT / "ingest_copy.csv",
        "codes": bl.OUT / "ingest_codes.txt",
    }
    with open(paths["mqtt"], "w") as fh:
        for _, code, when, seq, values, _ in rows:
            fh.write(code + "\t" + json.dumps({"time": when.isoformat(), "seq": seq, "values": values}) + "\n")
    with open(paths["csv"], "w") as fh:
        for sid, _, when, seq, values, received in rows:
            # What the ingest path stores: the values as floats (json.dumps of the checked dict).
            fh.write(
                f'{sid},{when.isoformat()},{received.isoformat()},{seq},"{json.dumps(values).replace(chr(34), chr(34) * 2)}"\n'
            )
    paths["codes"].write_text("\n".join(code for _, code in sensors) + "\n")
    return paths


def http_batches(rows: list[tuple], size: int) -> list[bytes]:
    items = [
        {"sensor": code, "time": when.isoformat(), "seq": seq, "values": values}
        for _, code, when, seq, values, _ in rows
    ]
    return [json.dumps(items[k : k + size]).encode() for k in range(0, len(items), size)]


# ------------------------------------------------------------------------------------------------ cleanup
class Cleaner:
    """Puts the readings table and the benchmark sensors' derived rows back to empty, untimed."""

    def __init__(self, conn: object, ids: list[int], partitions: list[str]) -> None:
        self.conn, self.ids, self.partitions = conn, ids, partitions
        self.others = 0

    def sql(self) -> str:
        return (
            f"TRUNCATE {', '.join(self.partitions)}; DELETE FROM telemetry_pending_rollup / pending_alert / telemetry_rollup / "
            "telemetry_latest / "
            "telemetry_alert WHERE sensor_id = ANY(<benchmark sensors>); DELETE FROM telemetry_quarantinedreading "
            f"WHERE sensor_code LIKE '{PREFIX}-%'; VACUUM telemetry_rollup, telemetry_latest"
        )

    def __call__(self) -> None:
        c = self.conn
        for part in self.partitions:
            other = c.execute(  # type: ignore[attr-defined]
                f"SELECT EXISTS (SELECT 1 FROM {part} WHERE NOT sensor_id = ANY(%s))", [self.ids]
            ).fetchone()[0]
            if other:  # somebody else's rows: keep them
                c.execute(f"DELETE FROM {part} WHERE sensor_id = ANY(%s)", [self.ids])  # type: ignore[attr-defined]
                c.execute(f"VACUUM {part}")  # type: ignore[attr-defined]
            else:
                c.execute(f"TRUNCATE {part}")  # type: ignore[attr-defined]
        c.execute("DELETE FROM telemetry_pending_rollup WHERE sensor_id = ANY(%s)", [self.ids])  # type: ignore[attr-defined]
        if c.execute("SELECT to_regclass('telemetry_pending_alert') IS NOT NULL").fetchone()[0]:  # type: ignore[attr-defined]
            c.execute("DELETE FROM telemetry_pending_alert WHERE sensor_id = ANY(%s)", [self.ids])  # type: ignore[attr-defined]
        c.execute("DELETE FROM telemetry_rollup WHERE sensor_id = ANY(%s)", [self.ids])  # type: ignore[attr-defined]
        c.execute("DELETE FROM telemetry_latest WHERE sensor_id = ANY(%s)", [self.ids])  # type: ignore[attr-defined]
        c.execute(  # type: ignore[attr-defined]
            "DELETE FROM telemetry_alertevent WHERE alert_id IN (SELECT id FROM telemetry_alert WHERE sensor_id = ANY(%s))",
            [self.ids],
        )
        c.execute("DELETE FROM telemetry_alert WHERE sensor_id = ANY(%s)", [self.ids])  # type: ignore[attr-defined]
        c.execute("DELETE FROM telemetry_quarantinedreading WHERE sensor_code LIKE %s", [PREFIX + "-%"])  # type: ignore[attr-defined]
        c.execute("VACUUM telemetry_rollup, telemetry_latest")  # type: ignore[attr-defined]
        # Other benchmarks' rows in the same partitions (bench_public's meters): counted now, taken off count().
        self.others = self._total()

    def _total(self) -> int:
        return sum(self.conn.execute(f"SELECT count(*) FROM {p}").fetchone()[0] for p in self.partitions)  # type: ignore[attr-defined]

    def pending(self) -> int:
        """Readings stored but not yet folded into the rollups."""
        return int(
            self.conn.execute(  # type: ignore[attr-defined]
                "SELECT count(*) FROM telemetry_pending_rollup WHERE sensor_id = ANY(%s)", [self.ids]
            ).fetchone()[0]
        )

    def count(self) -> int:
        """This benchmark's rows in its partitions (a count(*) of the partitions minus the others' rows)."""
        return self._total() - self.others


# ------------------------------------------------------------------------------------------------- broker
class Broker:
    """A private Mosquitto on a free loopback port, config = docker/mosquitto/dev.conf (the stack's)."""

    def __init__(self, conf_name: str = "dev.conf", overrides: dict[str, str] | None = None) -> None:
        self.port = bl.free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="citytwin-bench-mqtt-"))
        shutil.chown(self.dir, "mosquitto", "mosquitto")
        self.dir.chmod(0o755)
        text = (bl.ROOT / "docker" / "mosquitto" / conf_name).read_text()
        text = text.replace("@PORT@", str(self.port)).replace("@DIR@", str(self.dir))
        for key, value in (overrides or {}).items():
            lines = [ln for ln in text.splitlines() if not ln.startswith(key + " ")]
            text = "\n".join(lines) + f"\n{key} {value}\n"
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text(text)
        self.bg = bl.Background(
            [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(self.conf)],
            log_name="ingest_mosquitto.out",
            grace=10,
        )
        self.cmd_text = (
            f"mosquitto -c {self.conf}   # docker/mosquitto/{conf_name} with port {self.port}, dir {self.dir}"
        )

    def __enter__(self) -> Broker:
        self.bg.__enter__()
        import socket

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise SystemExit(f"mosquitto did not listen on {self.port}: {self.bg.log_tail()}")

    def __exit__(self, *exc: object) -> None:
        self.bg.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def worker_command(port: int, client_id: str, profile: Path | None = None, root: str | None = None) -> list[str]:
    """root: another checkout whose run_ingest to run (the code before a change, for a comparison in one run)."""
    pre = [bl.PYTHON] + (["-m", "cProfile", "-o", str(profile)] if profile else [])
    extra = os.environ.get("BENCH_INGEST_WORKER_ARGS", "").split()  # e.g. "--batch-size 1000" to compare
    manage = str(Path(root) / "manage.py") if root else "manage.py"
    return [*pre, manage, "run_ingest", "--url", f"mqtt://127.0.0.1:{port}", "--client-id", client_id, *extra]


def wait_worker_ready(conn: object, port: int, worker: bl.Background, timeout: float = 90) -> None:
    """Publish a reading for an unknown sensor until the worker quarantines one: it is subscribed and storing."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-probe-{os.getpid()}", clean_session=True)
    client.connect("127.0.0.1", port)
    client.loop_start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not worker.alive():
                raise SystemExit(f"the ingest worker exited:\n{worker.log_tail()}")
            client.publish(TOPIC.format(code=PROBE_CODE), json.dumps({"time": "probe", "values": {}}), qos=1)
            time.sleep(0.5)
            if conn.execute(  # type: ignore[attr-defined]
                "SELECT EXISTS (SELECT 1 FROM telemetry_quarantinedreading WHERE sensor_code = %s)", [PROBE_CODE]
            ).fetchone()[0]:
                time.sleep(1.0)  # the probes still queued drain too
                conn.execute("DELETE FROM telemetry_quarantinedreading WHERE sensor_code = %s", [PROBE_CODE])  # type: ignore[attr-defined]
                return
    finally:
        client.loop_stop()
        client.disconnect()
    raise SystemExit(f"the ingest worker did not store anything within {timeout} s:\n{worker.log_tail()}")


# -------------------------------------------------------------------------------------------- the rounds
def run_copy(cleaner: Cleaner, csv_path: Path, n: int) -> float:
    pg = bl.PgTarget.from_url(bl.bench_database_url())
    cmd = copy_command(csv_path)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=pg.env(), capture_output=True, text=True)  # noqa: S603
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"psql \\copy failed: {proc.stderr}")
    got = cleaner.count()
    if got != n:
        raise SystemExit(f"COPY stored {got} of {n}")
    return elapsed


def copy_command(csv_path: Path) -> list[str]:
    pg = bl.PgTarget.from_url(bl.bench_database_url())
    return [
        "psql",
        *pg.cli_args(),
        "-d",
        pg.dbname,
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        f"\\copy telemetry_reading ({COLUMNS}) FROM '{csv_path}' CSV",
    ]


def poll_until(cleaner: Cleaner, conn: object, n: int, interval: float, deadline: float) -> list[tuple[float, int]]:
    """(time, rows) every `interval` until n rows are there or the deadline (time.time()) passes."""
    samples: list[tuple[float, int]] = []
    while True:
        count = (
            sum(conn.execute(f"SELECT count(*) FROM {p}").fetchone()[0] for p in cleaner.partitions) - cleaner.others
        )  # type: ignore[attr-defined]
        now = time.time()
        samples.append((now, count))
        if count >= n or now > deadline:
            return samples
        time.sleep(interval)


def commit_rate(samples: list[tuple[float, int]]) -> dict:
    """Rows/s from the first poll that saw rows to the first poll that saw the final count (the last commit)."""
    final = samples[-1][1] if samples else 0
    first = next(((t, c) for t, c in samples if c > 0), None)
    last = next(((t, c) for t, c in samples if c >= final), None)
    if first is None or last is None or last[0] <= first[0]:
        return {"rate": float("nan"), "stored": final, "seconds": float("nan"), "first": first, "last": last}
    return {
        "rate": (last[1] - first[1]) / (last[0] - first[0]),
        "stored": final,
        "seconds": last[0] - first[0],
        "first": first,
        "last": last,
    }


def run_mqtt(
    cleaner: Cleaner,
    conn: object,
    poll_conn: object,
    data: Path,
    n: int,
    publishers: int,
    max_seconds: float,
    broker_overrides: dict[str, str] | None = None,
    profile: Path | None = None,
    tag: str = "",
    per_message: int = 1,
) -> dict:
    """A fresh private broker and a fresh worker; P publishers send all n readings; poll until all are
    stored or max_seconds after the publishers started. Both processes are stopped afterwards (the broker's
    leftover queue goes with its temporary directory)."""
    client_id = f"bench-ingest-{os.getpid()}{tag}"
    with Broker(overrides=broker_overrides) as broker:
        cmd = worker_command(broker.port, client_id, profile)
        worker = bl.Background(cmd, env=bl.django_env(), log_name=f"ingest_worker{tag}.log", grace=60)
        with worker:
            wait_worker_ready(conn, broker.port, worker)
            cleaner()
            pubs = [publisher(broker.port, data, i, publishers, max_seconds, per_message) for i in range(publishers)]
            t_start = time.time()
            for pub in pubs:
                pub.__enter__()
            try:
                samples = poll_until(cleaner, poll_conn, n, 0.05, deadline=t_start + max_seconds)
                for pub in pubs:
                    pub.wait(1)  # done, or still waiting for the broker: its last line has the counts
            finally:
                for pub in pubs:
                    pub.stop()
            # The rollups trail the readings (the worker folds its queue every second): wait for them.
            t_stored = time.time()
            while cleaner.pending() and time.time() - t_stored < 120:
                time.sleep(0.05)
            fold_lag = time.time() - t_stored
            worker.stop()  # SIGTERM: it finishes the batch in hand and exits (cProfile, if any, writes its file)
            log_tail = worker.log_tail(5)
    stats = [last_json(pub, {"published": 0, "acked": 0, "t0": t_start, "t1": time.time()}) for pub in pubs]
    res = commit_rate(samples)
    acked = sum(st["acked"] for st in stats)
    pub_secs = max(st["t1"] for st in stats) - min(st["t0"] for st in stats)
    res.update(
        {
            "n": n,
            "complete": res["stored"] >= n,
            "published": sum(st["published"] for st in stats),
            "acked": acked,
            "publish_rate": acked / pub_secs if pub_secs else float("nan"),
            "per_message": per_message,
            "worker_log": log_tail,
            "fold_lag": fold_lag,
            "broker": broker.cmd_text,
            "worker_cmd": cmd,
        }
    )
    return res


def last_json(bg: bl.Background, default: dict) -> dict:
    lines = [ln for ln in bg.log_path.read_text(errors="replace").splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if lines else default


def mqtt_text(m: dict) -> str:
    done = "all" if m["complete"] else f"time limit: {m['stored']:,} of {m['n']:,}"
    return (
        f"{m['rate']:8,.0f} rows/s ({done} stored, {m['seconds']:.1f} s first to last commit; broker acked the "
        f"publishers {m['acked']:,} messages at {m['publish_rate']:,.0f}/s; rollups complete {m['fold_lag']:.1f} s after "
        "that)"
    )


def run_http(
    cleaner: Cleaner, conn: object, port: int, token: str, batches: list[bytes], clients: int, max_seconds: float
) -> dict:
    """The HTTP clients, with an ingest worker running for the upkeep (HTTP ingest leaves the fold and the
    alerts to it, where the code does; before, the request did them itself and the worker idles)."""
    with Broker() as broker:
        worker = bl.Background(
            worker_command(broker.port, f"bench-upkeep-{os.getpid()}"),
            env=bl.django_env(),
            log_name="ingest_upkeep_worker.log",
            grace=60,
        )
        with worker:
            wait_worker_ready(conn, broker.port, worker)
            cleaner()
            res = _http_clients(cleaner, port, token, batches, clients, max_seconds)
            t_answered = time.time()
            while cleaner.pending() and time.time() - t_answered < 120:
                time.sleep(0.05)
            res["fold_lag"] = time.time() - t_answered
            worker.stop()
    return res


def _http_clients(
    cleaner: Cleaner, port: int, token: str, batches: list[bytes], clients: int, max_seconds: float
) -> dict:
    lock = threading.Lock()
    deadline = time.time() + max_seconds
    queue = list(range(len(batches)))
    stored = 0
    starts: list[float] = []
    ends: list[float] = []
    errors: list[str] = []
    lat: list[float] = []

    def client() -> None:
        nonlocal stored
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        try:
            while True:
                with lock:
                    if not queue or errors or time.time() > deadline:
                        return
                    k = queue.pop(0)
                t0 = time.time()
                conn.request("POST", "/api/ingest/readings/", body=batches[k], headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                t1 = time.time()
                with lock:
                    starts.append(t0)
                    ends.append(t1)
                    lat.append((t1 - t0) * 1000)
                    if resp.status != 200:
                        errors.append(f"HTTP {resp.status}: {body[:300]!r}")
                        return
                    stored += json.loads(body)["stored"]
        finally:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    if errors:
        raise SystemExit("HTTP ingest failed: " + errors[0])
    secs = max(ends) - min(starts)
    return {
        "stored": stored,
        "seconds": secs,
        "rate": stored / secs,
        "latencies_ms": lat,
        "in_db": cleaner.count(),
        "complete": not queue,
        "requests": len(lat),
    }


def run_latency(
    cleaner: Cleaner, conn: object, poll_conn: object, codes: Path, rate: int, seconds: int, drain: float
) -> dict:
    seen: dict[int, float] = {}
    cycles: list[float] = []
    stop = threading.Event()
    parts = cleaner.partitions
    client_id = f"bench-ingest-{os.getpid()}-lat{rate}"
    with Broker() as broker:
        worker = bl.Background(
            worker_command(broker.port, client_id), env=bl.django_env(), log_name="ingest_worker_latency.log", grace=60
        )
        with worker:
            wait_worker_ready(conn, broker.port, worker)
            cleaner()
            since = datetime.now(UTC) - timedelta(seconds=5)

            def poller() -> None:
                floor = 0
                while not stop.is_set():
                    t0 = time.time()
                    rows = []
                    for p in parts:
                        rows += poll_conn.execute(  # type: ignore[attr-defined]
                            f"SELECT seq FROM {p} WHERE time >= %s AND seq > %s", [since, floor]
                        ).fetchall()
                    t1 = time.time()
                    for (seq,) in rows:
                        if seq not in seen:
                            seen[seq] = t1  # when the answer arrived: the row was committed before that
                    if seen:
                        floor = max(0, max(seen) - 60_000_000)  # rows sent 60 s before the newest seen: not expected
                    cycles.append(t1 - t0)
                    rest = 0.01 - (time.time() - t0)
                    if rest > 0:
                        time.sleep(rest)

            th = threading.Thread(target=poller)
            th.start()
            pub = bl.Background(
                [
                    bl.PYTHON,
                    __file__,
                    "pace",
                    "--port",
                    str(broker.port),
                    "--file",
                    str(codes),
                    "--rate",
                    str(rate),
                    "--seconds",
                    str(seconds),
                ],
                log_name="ingest_pace.out",
            )
            try:
                with pub:
                    pub.wait(seconds + 35)  # it waits up to 30 s for the broker's acknowledgements
                stats = last_json(pub, {"sent": 0, "acked": 0, "seconds": float(seconds)})
                deadline = time.time() + drain
                while len(seen) < stats["acked"] and time.time() < deadline:
                    time.sleep(0.05)
            finally:
                stop.set()
                th.join()
            worker.stop()
    lat = [(t - seq / 1e6) * 1000 for seq, t in seen.items()]
    return {
        "sent": stats["sent"],
        "acked": stats["acked"],
        "seen": len(seen),
        "latencies_ms": lat,
        "poll_ms": [c * 1000 for c in cycles],
        "rate": stats["sent"] / stats["seconds"],
        "drain": drain,
    }


# ------------------------------------------------------------------- subscribers compared (ingest_passes.py)
def publisher(port: int, data: Path, index: int, of: int, max_seconds: float, per_message: int) -> bl.Background:
    """A publisher process (this script's `publish` mode) sending its share of `data` to the broker."""
    return bl.Background(
        [
            bl.PYTHON,
            __file__,
            "publish",
            "--port",
            str(port),
            "--file",
            str(data),
            "--index",
            str(index),
            "--of",
            str(of),
            "--timeout",
            str(max_seconds),
            "--per-message",
            str(per_message),
        ],
        log_name=f"ingest_publisher_{index}.out",
    )


def publisher_factory(data: Path, publishers: int, max_seconds: float, per_message: int = 1):  # noqa: ANN201
    def start(port: int, n: int) -> list[bl.Background]:
        return [ip.started(publisher(port, data, i, publishers, max_seconds, per_message)) for i in range(publishers)]

    return start


def ours_starter(
    workers: int, env: dict[str, str] | None = None, profile: Path | None = None, root: str | None = None
) -> ip.Starter:
    """`workers` run_ingest processes (fixed client ids: a restart resumes the persistent session).
    profile: the first worker's restart (the draining one) runs under cProfile, written there."""

    def start(port: int, tag: str) -> list[bl.Background]:
        return [
            ip.started(
                bl.Background(
                    worker_command(port, f"bench-ingest-{os.getpid()}-w{k}", profile if tag and k == 0 else None, root),
                    env=env or bl.django_env(),
                    log_name=f"ingest_worker_w{k}{tag}.log",
                    grace=60,
                )
            )
            for k in range(workers)
        ]

    return start


def minimal_starter(port: int, tag: str) -> list[bl.Background]:
    cmd = ip.minimal_command(port, f"bench-minimal-{os.getpid()}", PREFIX)
    return [ip.started(bl.Background(cmd, log_name=f"ingest_minimal{tag}.out"))]


def subscriber_rounds(
    args: argparse.Namespace, conn: object, poll_conn: object, cleaner: Cleaner, data: Path, n: int
) -> None:
    """One reading per message: the minimal subscriber vs one run_ingest worker, live and draining,
    alternating within each round."""
    publish = publisher_factory(data, args.publishers, args.max_seconds)

    def ours_ready(port: int, subs: list[bl.Background]) -> None:
        wait_worker_ready(conn, port, subs[0])

    def minimal_ready(port: int, subs: list[bl.Background]) -> None:
        ip.wait_line(subs[0], "subscribed")

    common = {
        "broker_cls": Broker,
        "cleaner": cleaner,
        "poll_conn": poll_conn,
        "publisher": publish,
        "n": n,
        "max_seconds": args.max_seconds,
        "poll_until": poll_until,
        "commit_rate": commit_rate,
        "last_json": last_json,
    }
    print("\nOne reading per message: ours vs the minimal subscriber (bench/ingest_passes.py), stack broker config")
    print(
        f"  minimal:  $ {bl.shell_line(ip.minimal_command(0, 'bench-minimal-<pid>', PREFIX)).replace(' 0 ', ' <port> ')}"
    )
    print(f"  ours:     $ {bl.shell_line(worker_command(0, 'bench-ingest-<pid>-w0'), bl.django_env())}")
    print(
        f"  live: {args.publishers} publishers start once the subscriber is subscribed; drain: the subscriber "
        "subscribes and stops, all readings are published and queued by the broker, then it starts again"
    )
    # BENCH_INGEST_BEFORE=<another checkout>: its run_ingest too, as "before", in the same rounds.
    before = os.environ.get("BENCH_INGEST_BEFORE")
    if before:
        print(f"  before:   $ {bl.shell_line(worker_command(0, 'bench-ingest-<pid>-w0', root=before))}")
    res: dict[tuple[str, str], list[float]] = {}
    for r in range(1, args.rounds + 1):
        for mode in ("live", "drain"):
            contenders = [("minimal", minimal_starter, minimal_ready), ("ours", ours_starter(1), ours_ready)]
            if before:
                contenders.append(("before", ours_starter(1, root=before), ours_ready))
            for who, start, ready in contenders:
                cleaner()
                m = ip.run_pass(start=start, ready=ready, drain=mode == "drain", **common)
                res.setdefault((who, mode), []).append(m["rate"])
                print(f"  round {r} {mode:5} {who:7} {ip.pass_text(m)}")
    print(f"\nOne reading per message, medians over {args.rounds} rounds ({n:,} readings):")
    for mode in ("live", "drain"):
        mine, base = bl.median(res[("ours", mode)]), bl.median(res[("minimal", mode)])
        was = f", before {bl.median(res[('before', mode)]):8,.0f} rows/s" if before else ""
        print(f"  {mode:5}: minimal {base:8,.0f} rows/s, ours {mine:8,.0f} rows/s{was}")
        print("  " + bl.ratio_line(f"ours/minimal ({mode})", mine, base, MINIMAL_GOAL))
    if args.profile:
        prof = bl.OUT / "ingest_worker_drain.prof"
        cleaner()
        m = ip.run_pass(start=ours_starter(1, profile=prof), ready=ours_ready, drain=True, **common)
        print(f"\ncProfile of the worker's main thread draining {n:,} queued readings: {ip.pass_text(m)}")
        print_profile(prof)


def scale_rounds(
    args: argparse.Namespace, conn: object, poll_conn: object, cleaner: Cleaner, data: Path, n: int
) -> None:
    """One reading per message: 1 run_ingest worker vs 2 on a shared subscription
    (CITYTWIN_MQTT_SHARE_GROUP), live and draining, alternating within each round."""
    publish = publisher_factory(data, args.publishers, args.max_seconds)
    shared_env = {**bl.django_env(), "CITYTWIN_MQTT_SHARE_GROUP": "bench"}

    def ours_ready(port: int, subs: list[bl.Background]) -> None:
        wait_worker_ready(conn, port, subs[0])
        for s in subs[1:]:
            ip.wait_line(s, "connected to MQTT", timeout=90)

    common = {
        "broker_cls": Broker,
        "cleaner": cleaner,
        "poll_conn": poll_conn,
        "publisher": publish,
        "n": n,
        "max_seconds": args.max_seconds,
        "poll_until": poll_until,
        "commit_rate": commit_rate,
        "last_json": last_json,
        "ready": ours_ready,
    }
    print("\nScale-out: 1 run_ingest worker vs 2 on the shared subscription $share/bench/<topic>")
    print(f"  2 x $ {bl.shell_line(worker_command(0, 'bench-ingest-<pid>-w<k>'), shared_env)}")
    res: dict[tuple[int, str], list[float]] = {}
    for r in range(1, args.rounds + 1):
        for mode in ("live", "drain"):
            for workers in (1, 2):
                cleaner()
                start = ours_starter(workers, shared_env if workers > 1 else None)
                m = ip.run_pass(start=start, drain=mode == "drain", **common)
                res.setdefault((workers, mode), []).append(m["rate"])
                print(f"  round {r} {mode:5} {workers} worker(s) {ip.pass_text(m)}")
    print(f"\nScale-out, medians over {args.rounds} rounds ({n:,} readings, one per message):")
    for mode in ("live", "drain"):
        one, two = bl.median(res[(1, mode)]), bl.median(res[(2, mode)])
        print(f"  {mode:5}: 1 worker {one:8,.0f} rows/s, 2 workers {two:8,.0f} rows/s ({two / one:.2f}x)")


# ------------------------------------------------------------------------------------------------ profile
def profile_worker(
    conn: object, poll_conn: object, cleaner: Cleaner, data: Path, n: int, publishers: int, max_seconds: float
) -> None:
    prof = bl.OUT / "ingest_worker.prof"
    print(
        f"\ncProfile of the worker storing up to {n:,} readings for at most {max_seconds:.0f} s, broker without "
        "persistence (so the worker is the bottleneck; profiling slows the Python parts):"
    )
    res = run_mqtt(
        cleaner, conn, poll_conn, data, n, publishers, max_seconds, {"persistence": "false"}, profile=prof, tag="-prof"
    )
    print(f"  $ {bl.shell_line(res['worker_cmd'], bl.django_env())}")
    print(f"  under cProfile: {mqtt_text(res)}")
    cleaner()
    print_profile(prof)


def print_profile(prof: Path) -> None:
    import io
    import pstats

    for order, count in (("cumulative", 28), ("tottime", 14)):
        buf = io.StringIO()
        pstats.Stats(str(prof), stream=buf).strip_dirs().sort_stats(order).print_stats(count)
        text = buf.getvalue()
        print(f"\n  top {count} by {order} (python -m pstats {prof.relative_to(bl.ROOT)}):")
        print("  " + text[text.find("   ncalls") :].rstrip().replace("\n", "\n  "))


def stage_breakdown(cleaner: Cleaner, rows: list[tuple], size: int = 2000) -> None:
    """One batch of `size` readings through services.ingest_readings() in this process, each stage timed
    (helpers wrapped in timers, SQL statements through execute_wrapper); then EXPLAIN ANALYZE of the
    write SQL on the same batch (rolled back)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.telemetry import ingest as ing
    from apps.telemetry import services
    from apps.telemetry.ingest import IncomingReading

    cleaner()
    now = timezone.now()
    batch = [
        IncomingReading(
            source="mqtt",
            sensor_code=code,
            payload=json.dumps({"time": when.isoformat(), "seq": seq, "values": values}).encode(),
            received_at=now,
        )
        for _, code, when, seq, values, _ in rows[:size]
    ]
    timer = bl.StageTimer(sql_width=100)
    stages, statements, timed, sql_timer = timer.stages, timer.statements, timer.timed, timer.sql_timer

    wrapped = {
        (ing, "_sensors_by_code"): "ingest: _sensors_by_code (sensor lookup)",
        (ing, "_latest"): "ingest: _latest (previous values)",
        (ing, "_check_rates"): "ingest: _check_rates",
        (ing, "_write"): "ingest: _write (COPY to stage + write SQL)",
        (services, "ingest"): "ingest() in all (checks + transaction + commit)",
        (services, "fold_rollups"): "fold_rollups (the queued readings into the rollups)",
        (services, "publish"): "publish to the channel layer",
        (services, "evaluate_alerts"): "evaluate_alerts",
    }
    originals = {key: getattr(*key) for key in wrapped}
    try:
        for key, label in wrapped.items():
            setattr(key[0], key[1], timed(label, originals[key]))
        t0 = time.perf_counter()
        with connection.execute_wrapper(sql_timer):
            result = services.ingest_readings(batch, now=now)
        total = time.perf_counter() - t0
    finally:
        for key, fn in originals.items():
            setattr(key[0], key[1], fn)
    print(
        f"\nWhere the time goes: one batch of {size:,} readings through services.ingest_readings(), in-process: "
        f"{total * 1000:.0f} ms ({size / total:,.0f} readings/s; stored {len(result.stored)}, rejected {len(result.rejected)})"
    )
    for name, secs in stages.items():
        print(f"  {secs * 1000:8.1f} ms {100 * secs / total:5.1f}%  {name}")
    print("  SQL statements, slowest first:")
    for sql, secs in sorted(statements, key=lambda s: -s[1])[:8]:
        print(f"  {secs * 1000:8.1f} ms {100 * secs / total:5.1f}%  {sql}")

    # EXPLAIN ANALYZE of the write SQL on the next batch (never committed).
    cleaner()
    nxt = rows[size : 2 * size] or rows[:size]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS ingest_stage (sensor_id bigint, time timestamptz, received_at timestamptz,"
            " seq bigint, values jsonb) ON COMMIT DELETE ROWS"
        )
        with connection.connection.cursor() as raw, raw.copy(f"COPY ingest_stage ({COLUMNS}) FROM STDIN") as copy:
            for sid, _, when, seq, values, _ in nxt:
                copy.write_row((sid, when, now, seq, json.dumps(values)))
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + ing.WRITE_SQL)
        plan = [r[0] for r in cur.fetchall()]
        t0 = time.perf_counter()
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # runs the deferred FK checks of the new rollup rows now
        fk = time.perf_counter() - t0
        transaction.set_rollback(True)
    path = bl.OUT / "ingest_write_explain.txt"
    path.write_text("\n".join(plan) + "\n")
    print(
        f"\nEXPLAIN (ANALYZE, BUFFERS) of apps.telemetry.ingest.WRITE_SQL, {len(nxt):,} staged readings "
        f"(full plan: {path.relative_to(bl.ROOT)}):"
    )
    keep = ("Insert on", "Tuples Inserted", "Conflicting", "CTE ", "Execution Time", "Planning Time", "JIT", "Trigger")
    for line in plan:
        if any(k in line for k in keep) or line.startswith(("CTE Scan", "Sort", "GroupAggregate")):
            print("  " + line)
    print(f"  (SET CONSTRAINTS ALL IMMEDIATE afterwards: {fk * 1000:.1f} ms)")
    cleaner()


def against_copy(
    args: argparse.Namespace,
    conn: object,
    poll_conn: object,
    cleaner: Cleaner,
    paths: dict[str, Path],
    batches: list[bytes],
    token: str,
    n: int,
) -> None:
    """--only http / arrays: rounds alternating the COPY baseline with one of ours (HTTP batches, or MQTT
    gateway messages of GATEWAY_BATCH readings), nothing else."""
    copies: list[float] = []
    ours: list[float] = []
    label = "HTTP ingest" if args.only == "http" else f"MQTT arrays of {GATEWAY_BATCH}"
    print(f"\nRounds (COPY, {label}):")
    with bl.Server("ingest_server.log") as server:
        for r in range(1, args.rounds + 1):
            cleaner()
            t_copy = run_copy(cleaner, paths["csv"], n)
            copies.append(n / t_copy)
            cleaner()
            if args.only == "http":
                h = run_http(cleaner, conn, server.port, token, batches, args.clients, args.max_seconds)
                text = (
                    f"{h['rate']:8,.0f} rows/s ({h['stored']:,} stored in {h['seconds']:.1f} s; {h['requests']} "
                    f"requests, {bl.lat_text(h['latencies_ms'])} each; rollups complete {h['fold_lag']:.1f} s "
                    "after the last answer)"
                )
            else:
                h = run_mqtt(
                    cleaner, conn, poll_conn, paths["mqtt"], n, args.publishers, args.max_seconds,
                    per_message=GATEWAY_BATCH,
                )  # fmt: skip
                text = mqtt_text(h)
            ours.append(h["rate"])
            print(f"  round {r}: COPY {n / t_copy:9,.0f} rows/s; {label} {text}")
    goal = HTTP_GOAL if args.only == "http" else MQTT_GOAL
    print(bl.ratio_line(f"{label} (medians over {args.rounds} rounds)", bl.median(ours), bl.median(copies), goal))


# ---------------------------------------------------------------------------------------------------- main
def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("publish", "pace"):
        ap = argparse.ArgumentParser()
        ap.add_argument("mode")
        ap.add_argument("--port", type=int, required=True)
        ap.add_argument("--file", required=True)
        ap.add_argument("--index", type=int, default=0)
        ap.add_argument("--of", type=int, default=1)
        ap.add_argument("--timeout", type=float, default=600)
        ap.add_argument("--per-message", type=int, default=1)
        ap.add_argument("--rate", type=int, default=1000)
        ap.add_argument("--seconds", type=float, default=10)
        args = ap.parse_args()
        (child_publish if args.mode == "publish" else child_pace)(args)
        return
    if len(sys.argv) > 1 and sys.argv[1] == "minimal":
        ap = argparse.ArgumentParser()
        ap.add_argument("mode")
        ap.add_argument("--port", type=int, required=True)
        ap.add_argument("--client-id", required=True)
        ap.add_argument("--dsn", required=True)
        ap.add_argument("--prefix", required=True)
        ap.add_argument("--topic", required=True)
        ap.add_argument("--batch", type=int, default=2000)
        ip.child_minimal(ap.parse_args())
        return

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--readings", type=int, default=100_000)
    ap.add_argument("--sensors", type=int, default=1000)
    ap.add_argument("--publishers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    ap.add_argument("--batch", type=int, default=1000, help="readings per HTTP request")
    ap.add_argument(
        "--latency-rates",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[100, 1000],
        help="steady publish rates for the latency test, comma-separated",
    )
    ap.add_argument("--max-seconds", type=float, default=60, help="cut-off for each of ours (MQTT, HTTP) per round")
    ap.add_argument("--latency-seconds", type=int, default=10)
    ap.add_argument("--seconds", type=int, help="ignored (the work is a fixed number of readings); bin/bench passes it")
    ap.add_argument("--profile", action="store_true", help="profile ours even if it meets the goal")
    ap.add_argument(
        "--only",
        choices=["all", "mqtt1", "scale", "http", "arrays"],
        default="all",
        help="mqtt1: only one reading per message, ours vs the minimal subscriber, live and draining; "
        "scale: only 1 vs 2 workers on a shared subscription; http / arrays: only the COPY baseline and HTTP "
        "batches / MQTT arrays of 50, alternating",
    )
    args = ap.parse_args()

    bl.banner("bench_ingest", "MQTT and HTTP ingest vs psql \\copy of the same readings; publish -> commit latency")
    print(bl.load_text())
    prefix = bl.isolate_redis("ingest")
    print(f"Redis channel-layer and cache prefix for this run's processes: {prefix}")
    bl.prepare_bench_db()
    bl.setup_django()
    from rest_framework.authtoken.models import Token

    from apps.accounts.models import Role, User
    from apps.accounts.services import create_user

    conn = bl.connect(autocommit=True)
    poll_conn = bl.connect(autocommit=True)
    conn.execute("SELECT telemetry_ensure_partitions(now(), 1, 2)")
    sensors = bl.ensure_sensors(conn, SOURCE, PREFIX, args.sensors)
    ids = [i for i, _ in sensors]
    now = conn.execute("SELECT now()").fetchone()[0]
    rows, start, end = make_data(sensors, args.readings, now)
    n = len(rows)
    # The monthly partition(s) the readings fall in (bounds read from the catalog).
    partitions = sorted(
        {
            conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'telemetry_reading'::regclass AND c.relname <> 'telemetry_reading_default' "
                "AND %s >= split_part(split_part(pg_get_expr(c.relpartbound, c.oid), '''', 2), '''', 1)::timestamptz "
                "AND %s < split_part(pg_get_expr(c.relpartbound, c.oid), '''', 4)::timestamptz",
                [t, t],
            ).fetchone()[0]
            for t in (start, end)
        }
    )
    cleaner = Cleaner(conn, ids, partitions)
    paths = write_files(rows, sensors)
    batches = http_batches(rows, args.batch)
    user = User.objects.filter(username="bench-ingest").first() or create_user(
        username="bench-ingest", password=os.urandom(16).hex(), role=Role.INGEST
    )
    token = Token.objects.get_or_create(user=user)[0].key
    indexes = [
        r[0] for r in conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'telemetry_reading'").fetchall()
    ]
    print(
        f"\nData: {n:,} readings = {len(sensors):,} traffic sensors x {n // len(sensors)} readings, "
        f"{start:%Y-%m-%d %H:%M:%S} .. {end:%H:%M:%S} UTC, 3 properties each; partition(s) {', '.join(partitions)}; "
        f"files {paths['mqtt'].relative_to(bl.ROOT)} ({paths['mqtt'].stat().st_size / 1e6:.1f} MB), "
        f"{paths['csv'].relative_to(bl.ROOT)} ({paths['csv'].stat().st_size / 1e6:.1f} MB)"
    )
    print("Indexes on telemetry_reading (each partition has the same): " + "; ".join(indexes))
    rollup_rows = conn.execute("SELECT count(*) FROM telemetry_rollup").fetchone()[0]
    print(f"telemetry_rollup already holds {rollup_rows:,} rows (other benchmarks' sensors): ours inserts into it too")
    print(f"Before each round (untimed): {cleaner.sql()}")

    bl.raise_nofile(4096)
    if args.only in ("http", "arrays"):
        against_copy(args, conn, poll_conn, cleaner, paths, batches, token, n)
        cleaner()
        return
    if args.only != "all":
        compare = subscriber_rounds if args.only == "mqtt1" else scale_rounds
        compare(args, conn, poll_conn, cleaner, paths["mqtt"], n)
        cleaner()
        return
    variants = {
        "stack broker (docker/mosquitto/dev.conf)": None,
        "former broker setting (dev.conf with autosave_on_changes true: a full save after every message)": {
            "autosave_on_changes": "true",
        },
        "broker without persistence (dev.conf with persistence false: the worker alone)": {"persistence": "false"},
    }
    with bl.Server("ingest_server.log") as server:
        probe = Broker()
        print("\nCommands:")
        print(
            f"  broker:   $ {probe.cmd_text.replace(str(probe.port), '<port>').replace(str(probe.dir), '<tmpdir>')}"
            "   (a fresh one for every MQTT round)"
        )
        shutil.rmtree(probe.dir, ignore_errors=True)
        wcmd = worker_command(0, f"bench-ingest-{os.getpid()}")
        print(
            f"  worker:   $ {bl.shell_line(wcmd, bl.django_env()).replace('127.0.0.1:0', '127.0.0.1:<port>')}"
            "   # log: bench/out/ingest_worker.log; stopped with SIGTERM after each round"
        )
        print(
            f"  MQTT:     {args.publishers} x $ {bl.shell_line([bl.PYTHON, 'bench/bench_ingest.py', 'publish', '--port', '<port>', '--file', str(paths['mqtt']), '--index', 'I', '--of', str(args.publishers)])}"
        )
        print(
            f"  HTTP:     POST /api/ingest/readings/ (Authorization: Token <bench-ingest's>), {len(batches)} bodies of "
            f"{args.batch} readings ({len(batches[0]) / 1e3:.0f} kB), {args.clients} concurrent keep-alive clients "
            f"(http.client), server pid {server.proc.pid}"
        )
        print(f"  baseline: $ {bl.shell_line(copy_command(paths['csv']))}")
        print(f"  ours is cut off {args.max_seconds:.0f} s after it starts (then: rate over what was committed)")
        copies, mqtts, arrays, https = [], [], [], []
        # The same readings as JSON arrays of GATEWAY_BATCH per message (a gateway, or a device uploading its
        # buffer; docs/ingest.md): a goal of its own, so in the alternating rounds too.
        print(f"\nRounds (COPY; MQTT one reading per message; MQTT arrays of {GATEWAY_BATCH}; HTTP):")
        for r in range(1, args.rounds + 1):
            cleaner()
            t_copy = run_copy(cleaner, paths["csv"], n)
            copies.append(n / t_copy)
            cleaner()
            m = run_mqtt(cleaner, conn, poll_conn, paths["mqtt"], n, args.publishers, args.max_seconds)
            mqtts.append(m)
            cleaner()
            a = run_mqtt(
                cleaner, conn, poll_conn, paths["mqtt"], n, args.publishers, args.max_seconds, per_message=GATEWAY_BATCH
            )
            arrays.append(a)
            cleaner()
            h = run_http(cleaner, conn, server.port, token, batches, args.clients, args.max_seconds)
            https.append(h)
            hdone = "all" if h["complete"] else f"time limit: {h['stored']:,} of {n:,}"
            print(f"  round {r}: COPY {t_copy:5.2f} s {n / t_copy:9,.0f} rows/s")
            print(f"           MQTT {mqtt_text(m)}")
            print(f"           MQTT arrays of {GATEWAY_BATCH} {mqtt_text(a)}")
            print(
                f"           HTTP {h['rate']:8,.0f} rows/s ({hdone} stored in {h['seconds']:.1f} s; "
                f"{h['requests']} requests, {bl.lat_text(h['latencies_ms'])} each; "
                f"rollups complete {h['fold_lag']:.1f} s after the last answer)"
            )

        print("\nMQTT, one round per broker configuration (the worker's speed with the broker's share changed):")
        by_variant = {}
        for label, overrides in list(variants.items())[1:]:
            cleaner()
            broker_overrides = dict(overrides or {})
            per_message = int(broker_overrides.pop("per_message", 1))
            v = run_mqtt(
                cleaner,
                conn,
                poll_conn,
                paths["mqtt"],
                n,
                args.publishers,
                args.max_seconds,
                broker_overrides=broker_overrides or None,
                per_message=per_message,
            )
            by_variant[label] = v
            print(f"  {label}:\n    {mqtt_text(v)}")

        lats = []
        for rate in args.latency_rates:
            print(f"\nLatency: one publisher at {rate}/s for {args.latency_seconds} s (stack broker), poll every 10 ms")
            print(
                f"  $ {bl.shell_line([bl.PYTHON, 'bench/bench_ingest.py', 'pace', '--port', '<port>', '--file', str(paths['codes']), '--rate', str(rate), '--seconds', str(args.latency_seconds)])}"
            )
            cleaner()
            lat = run_latency(cleaner, conn, poll_conn, paths["codes"], rate, args.latency_seconds, drain=30)
            lats.append(lat)
            print(
                f"  sent {lat['sent']:,} at {lat['rate']:,.0f}/s, broker acked {lat['acked']:,}, committed within "
                f"{lat['drain']:.0f} s after the last send {lat['seen']:,}; latency {bl.lat_text(lat['latencies_ms'])}; "
                f"poll cycle {bl.lat_text(lat['poll_ms'])}"
            )

    subscriber_rounds(args, conn, poll_conn, cleaner, paths["mqtt"], n)

    c_med = bl.median(copies)
    m_med = bl.median([m["rate"] for m in mqtts])
    a_med = bl.median([a["rate"] for a in arrays])
    h_med = bl.median([h["rate"] for h in https])
    print(bl.load_text())
    bl.header(f"bench_ingest summary ({n:,} readings offered per round; medians over {args.rounds} rounds)")
    table = [
        ("path", "rows/s"),
        ("baseline: psql \\copy (same table and indexes)", f"{c_med:,.0f}"),
        ("ours: MQTT -> run_ingest, stack broker", f"{m_med:,.0f}"),
        (f"ours: MQTT arrays of {GATEWAY_BATCH} -> run_ingest, stack broker", f"{a_med:,.0f}"),
        ("ours: HTTP POST /api/ingest/readings/", f"{h_med:,.0f}"),
    ]
    for label, v in by_variant.items():
        table.append(("  MQTT, " + label.split(" (")[0] + " (1 round)", f"{v['rate']:,.0f}"))
    for label, value in table:
        print(f"{label:<58}{value:>12}")
    print(
        f"MQTT one reading per message / COPY: {m_med / c_med:.2f}x (its goal is against the minimal subscriber: "
        "see 'Ours vs the minimal subscriber' above)"
    )
    print(bl.ratio_line(f"MQTT arrays of {GATEWAY_BATCH}", a_med, c_med, MQTT_GOAL))
    print(bl.ratio_line("HTTP ingest", h_med, c_med, HTTP_GOAL))
    for lat in lats:
        unseen = lat["acked"] - lat["seen"]
        print(
            f"publish -> commit latency at {lat['rate']:,.0f} readings/s: {bl.lat_text(lat['latencies_ms'])}, max "
            f"{max(lat['latencies_ms'], default=float('nan')):,.0f} ms"
            + (
                f"; {unseen:,} acked readings not committed within {lat['drain']:.0f} s after the last send (so the true "
                "p99 is higher)"
                if unseen
                else ""
            )
        )
    print(
        "  (method: first time a poll every 10 ms sees the row minus the send time in seq; resolution = the poll "
        f"cycle, p50 {bl.pct([x for lat in lats for x in lat['poll_ms']], 50):.1f} ms + the 10 ms sleep)"
    )

    if args.profile or a_med / c_med < MQTT_GOAL or h_med / c_med < HTTP_GOAL:
        bl.header("Profile of ours (below the goal, or --profile)")
        stage_breakdown(cleaner, rows)
        profile_worker(
            conn,
            poll_conn,
            cleaner,
            paths["mqtt"],
            n,
            args.publishers,
            min(args.max_seconds, 60),
        )
    cleaner()
    conn.close()
    poll_conn.close()


if __name__ == "__main__":
    main()
