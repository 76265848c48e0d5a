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

The parts: ingest_stack.py (constants, the publisher subcommands, data, the cleaner, the broker, the worker's
command), ingest_runs.py (the timed paths), ingest_passes.py (the minimal subscriber and one pass); this file
runs the rounds, prints the summary and the profile.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import benchlib as bl
import ingest_passes as ip
from ingest_runs import (
    commit_rate,
    copy_command,
    last_json,
    mqtt_text,
    poll_until,
    publisher_factory,
    run_copy,
    run_http,
    run_latency,
    run_mqtt,
)
from ingest_stack import (
    COLUMNS,
    GATEWAY_BATCH,
    PREFIX,
    SOURCE,
    Broker,
    Cleaner,
    child_pace,
    child_publish,
    http_batches,
    make_data,
    wait_worker_ready,
    worker_command,
    write_files,
)

MQTT_GOAL, HTTP_GOAL = 0.4, 0.5  # arrays of GATEWAY_BATCH readings per message, HTTP batches: vs COPY
MINIMAL_GOAL = 0.85  # one reading per message, against the minimal subscriber


# ------------------------------------------------------------------- subscribers compared (ingest_passes.py)
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
