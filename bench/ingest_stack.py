"""bench_ingest's setting: the benchmark's constants, its child processes (the publishers), the data files,
the cleaner between rounds, the private broker and the ingest worker's command. bench_ingest.py runs the
benchmark (its docstring says what it measures); ingest_runs.py times the paths."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import benchlib as bl

SOURCE = "bench-ingest"
PREFIX = "bench-ing"
PROBE_CODE = "bench-ing-probe"  # an unknown sensor: its readings are quarantined, which shows the worker is live
TOPIC = "citytwin/v1/sensors/{code}/readings"
GATEWAY_BATCH = 50
COLUMNS = "sensor_id, time, received_at, seq, values"
SCRIPT = str(Path(__file__).with_name("bench_ingest.py"))  # its subcommands run the child processes below


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
