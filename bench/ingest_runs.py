"""bench_ingest's timed paths: the COPY baseline, MQTT through the worker, HTTP batches with the worker doing
the upkeep, the publish -> commit latency, and the publisher processes the subscriber comparisons use."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import benchlib as bl
import ingest_passes as ip
from ingest_stack import (
    COLUMNS,
    SCRIPT,
    Broker,
    Cleaner,
    wait_worker_ready,
    worker_command,
)


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
            fold_lag = ip.wait_for_fold(cleaner)
            worker.stop()  # SIGTERM: it finishes the batch in hand and exits (cProfile, if any, writes its file)
            log_tail = worker.log_tail(5)
    stats = [last_json(pub, {"published": 0, "acked": 0, "t0": t_start, "t1": time.time()}) for pub in pubs]
    res = commit_rate(samples)
    res.update(ip.publish_totals(stats, n, res["stored"]))
    res.update(
        {
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
            res["fold_lag"] = ip.wait_for_fold(cleaner)  # from the last answer
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
                    SCRIPT,
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


# ------------------------------------------------------------------------------------ publisher processes
def publisher(port: int, data: Path, index: int, of: int, max_seconds: float, per_message: int) -> bl.Background:
    """A publisher process (this script's `publish` mode) sending its share of `data` to the broker."""
    return bl.Background(
        [
            bl.PYTHON,
            SCRIPT,
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
