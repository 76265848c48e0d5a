"""Dashboard aggregation: hourly per-district means from telemetry_district_rollup (the per-district rows the
fold keeps, apps/telemetry/district_rollups.py) and from telemetry_rollup ('1h', per sensor, the query before
it) vs the plain GROUP BY over the raw readings, over 10 million readings, same windows, same answer.

Data (generated once in citytwin_bench, reused while the counts match; --regenerate to rebuild):
- 1,000 traffic sensors `bench-roll-0001`... spread over the 14 demo districts, each with 10,000 readings
  at 90 s spacing (10.4 days) starting on the first day of the previous month (00:00 UTC), each reading
  {"vehicle_count", "mean_speed_kmh"} (2 properties), inserted with one INSERT ... SELECT generate_series
  into a fresh copy of that month's partition (CREATE TABLE ... (LIKE telemetry_reading), the same way
  telemetry_ensure_partitions() makes partitions), then ATTACHed (which builds the partition's unique
  (sensor_id, time) btree and BRIN(time) index, as for any partition).
- The rollups the ingest path would have written for those readings, per 1 min, 15 min and 1 h bucket
  (count, sum, min, max), computed one day at a time: 1 min buckets by GROUP BY over the readings'
  jsonb_each, 15 min from the 1 min rows and 1 h from the 15 min rows (sums of counts and sums, min of
  mins, max of maxes: the same numbers as apps/telemetry/ingest.py's one-pass GROUP BY; the script checks
  the 1 h rows against the product's own bucket expression over the raw readings). Rows are inserted in
  the order the live path leaves their final versions (by the time of the last reading in each bucket), so
  the heap layout resembles a table written by ingest. For speed the table's three indexes are dropped and
  rebuilt in the same transaction and its FK trigger is off (session_replication_role = replica) during
  the load; the FK is checked afterwards with one anti-join. The product path itself (WRITE_SQL, one
  INSERT ... ON CONFLICT per batch) stores ~7-10k readings/s here, i.e. ~20 min for 10M: see README.
- VACUUM ANALYZE on both tables afterwards.
- telemetry_district_rollup: the bulk load above bypasses the fold, so the per-district rows are checked
  against a recomputation from the 1 h rollups (district_rollups.drift()) and, if any differ (always after a
  generation), rebuilt with telemetry_district_rollup_rebuild(), the backfill of migration 0008 and of
  `manage.py rebuild_district_rollups`; its time is printed (what the backfill costs at this size).

Queries (literal timestamps; files in bench/out/rollup_*.sql):
- ours: SUM(total)/SUM(n) of mean_speed_kmh and SUM(total) of vehicle_count per district and hour from
  telemetry_district_rollup WHERE kind = 'traffic' AND bucket in the window (what district_hourly reads).
- per-sensor rollups (the query before the per-district table, kept to show the difference): the same sums
  from telemetry_rollup WHERE resolution = '1h' AND bucket in the window, sensors joined to districts with
  ST_Intersects.
- baseline: avg((values->>'mean_speed_kmh')::float8), sum((values->>'vehicle_count')::float8) per
  district and date_trunc('hour', time) over telemetry_reading in the same window, same join.
- windows: the last full day of the data, the last 7 full days, and all of it (10.4 days).
Each through `PGOPTIONS='-c jit=off' pgbench -n -f FILE -c 1 -T <seconds>` (with -l; JIT off as in the
application's connections), baseline, per-sensor and ours alternating per round.
Then (unless --no-alerts): the SQL that evaluate_alerts() runs for the sensors of recent ingest batches,
timed once over this history for these 1,000 sensors (the ingest benchmark's sensors have no history).

    .venv/bin/python bench/bench_rollup.py [--rounds 3] [--seconds 5] [--regenerate] [--no-alerts]
"""

from __future__ import annotations

import argparse
import math
import time
from datetime import datetime, timedelta

import benchlib as bl

SOURCE = "bench-rollup"
PREFIX = "bench-roll"
PROPS = ("vehicle_count", "mean_speed_kmh")
# Both queries run with the application's session settings (city/settings/base.py turns JIT off: on these
# short queries its compile time is a cost, not a gain).
PGOPTIONS = "-c jit=off"
RESOLUTIONS = (("1m", "1 minute"), ("15m", "15 minutes"), ("1h", "1 hour"))

SENSOR_DISTRICT = """SELECT s.id AS sensor_id, d.id AS district_id
    FROM sensors_sensor s JOIN districts_district d ON ST_Intersects(d.geom, s.geom)
    WHERE s.kind = 'traffic'"""

OURS_SQL = """SELECT t.district_id, t.bucket AS hour,
       sum(t.total) FILTER (WHERE t.property = 'mean_speed_kmh')
         / sum(t.n) FILTER (WHERE t.property = 'mean_speed_kmh') AS mean_speed_kmh,
       sum(t.total) FILTER (WHERE t.property = 'vehicle_count') AS vehicles
FROM telemetry_district_rollup t
WHERE t.kind = 'traffic' AND t.property IN ('mean_speed_kmh', 'vehicle_count')
  AND t.bucket >= '{start}' AND t.bucket < '{end}'
GROUP BY 1, 2 ORDER BY 1, 2"""

PER_SENSOR_SQL = """SELECT sd.district_id, r.bucket AS hour,
       sum(r.total) FILTER (WHERE r.property = 'mean_speed_kmh')
         / sum(r.n) FILTER (WHERE r.property = 'mean_speed_kmh') AS mean_speed_kmh,
       sum(r.total) FILTER (WHERE r.property = 'vehicle_count') AS vehicles
FROM telemetry_rollup r
JOIN ({sd}) sd ON sd.sensor_id = r.sensor_id
WHERE r.resolution = '1h' AND r.bucket >= '{start}' AND r.bucket < '{end}'
GROUP BY 1, 2 ORDER BY 1, 2"""

RAW_SQL = """SELECT sd.district_id, date_trunc('hour', t.time) AS hour,
       avg((t.values ->> 'mean_speed_kmh')::float8) AS mean_speed_kmh,
       sum((t.values ->> 'vehicle_count')::float8) AS vehicles
FROM telemetry_reading t
JOIN ({sd}) sd ON sd.sensor_id = t.sensor_id
WHERE t.time >= '{start}' AND t.time < '{end}'
GROUP BY 1, 2 ORDER BY 1, 2"""

GEN_READINGS_SQL = """INSERT INTO {part} (sensor_id, time, received_at, seq, values)
SELECT s.id, t.at, t.at + interval '2 s', g.k,
       jsonb_build_object('vehicle_count', round(20 + 15 * h.d + random() * 10),
                          'mean_speed_kmh', round(450 - 100 * h.d + random() * 50) / 10)
FROM generate_series(0, {steps} - 1) g(k)
CROSS JOIN (SELECT id FROM sensors_sensor WHERE source = '{source}' AND code LIKE '{prefix}-%%') s
CROSS JOIN LATERAL (SELECT timestamptz '{anchor}' + make_interval(secs => g.k * {spacing} + s.id %% {spacing}) AS at) t
CROSS JOIN LATERAL (SELECT sin(pi() * ((g.k * {spacing} + s.id %% {spacing}) %% 86400) / 43200.0) AS d) h
ORDER BY g.k, s.id"""

# One day of readings -> its 1m, 15m, 1h rollup rows (buckets never straddle days, all divide 24 h).
GEN_ROLLUP_SQL = """WITH v AS MATERIALIZED (
    SELECT i.sensor_id, i.time, kv.key AS property, (kv.value #>> '{}')::float8 AS value
    FROM telemetry_reading i CROSS JOIN LATERAL jsonb_each(i.values) kv
    WHERE i.sensor_id = ANY(%(ids)s) AND i.time >= %(a)s AND i.time < %(b)s
), m1 AS MATERIALIZED (
    SELECT '1m'::varchar AS resolution, sensor_id, property, date_bin('1 minute', time, timestamptz 'epoch') AS bucket,
           count(*)::int AS n, sum(value) AS total, min(value) AS minimum, max(value) AS maximum, max(time) AS last
    FROM v GROUP BY 2, 3, 4
), m15 AS MATERIALIZED (
    SELECT '15m'::varchar AS resolution, sensor_id, property, date_bin('15 minutes', bucket, timestamptz 'epoch') AS bucket,
           sum(n)::int AS n, sum(total) AS total, min(minimum) AS minimum, max(maximum) AS maximum, max(last) AS last
    FROM m1 GROUP BY 2, 3, 4
), h1 AS (
    SELECT '1h'::varchar AS resolution, sensor_id, property, date_bin('1 hour', bucket, timestamptz 'epoch') AS bucket,
           sum(n)::int AS n, sum(total) AS total, min(minimum) AS minimum, max(maximum) AS maximum, max(last) AS last
    FROM m15 GROUP BY 2, 3, 4
)
INSERT INTO telemetry_rollup (resolution, sensor_id, property, bucket, n, total, minimum, maximum)
SELECT resolution, sensor_id, property, bucket, n, total, minimum, maximum
FROM (SELECT * FROM m1 UNION ALL SELECT * FROM m15 UNION ALL SELECT * FROM h1) u
ORDER BY last"""

# The product's own bucket expression (apps/telemetry/ingest.py WRITE_SQL), to check the 1h rows.
CHECK_SQL = """WITH raw AS (
    SELECT t.sensor_id, kv.key AS property,
           date_bin('1 hour', t.time, '1970-01-01 00:00:00+00') AS bucket,
           count(*) AS n, sum((kv.value #>> '{}')::float8) AS total,
           min((kv.value #>> '{}')::float8) AS minimum, max((kv.value #>> '{}')::float8) AS maximum
    FROM telemetry_reading t CROSS JOIN LATERAL jsonb_each(t.values) kv
    WHERE t.sensor_id = ANY(%(ids)s) AND t.time >= %(a)s AND t.time < %(b)s
    GROUP BY 1, 2, 3
)
SELECT count(*),
       count(*) FILTER (WHERE r.n IS DISTINCT FROM raw.n::int OR abs(r.total - raw.total) > 1e-6 * greatest(1, abs(raw.total))
                          OR r.minimum IS DISTINCT FROM raw.minimum OR r.maximum IS DISTINCT FROM raw.maximum)
FROM raw LEFT JOIN telemetry_rollup r
  ON r.resolution = '1h' AND r.sensor_id = raw.sensor_id AND r.property = raw.property AND r.bucket = raw.bucket"""


def partition_name(anchor: datetime) -> str:
    return f"telemetry_reading_{anchor:%Y%m}"


def existing(conn: object, ids: list[int]) -> dict:
    """What is stored for the benchmark sensors: readings (count, first, last) and rollup rows per resolution."""
    n, first, last = conn.execute(  # type: ignore[attr-defined]
        "SELECT count(*), min(time), max(time) FROM telemetry_reading WHERE sensor_id = ANY(%s)", [ids]
    ).fetchone()
    rollups = dict(
        conn.execute(  # type: ignore[attr-defined]
            "SELECT resolution, count(*) FROM telemetry_rollup WHERE resolution = ANY(%s) AND sensor_id = ANY(%s) GROUP BY 1",
            [[r for r, _ in RESOLUTIONS], ids],
        ).fetchall()
    )
    return {"readings": n, "first": first, "last": last, "rollups": rollups}


def expected_rollups(ids: list[int], steps: int, spacing: int) -> dict[str, int]:
    """Rollup rows the data must produce: per sensor and property, the distinct buckets its readings hit
    (sensors differ only by their offset, id % spacing; the anchor is a whole hour)."""
    per_offset: dict[int, int] = {}
    for i in ids:
        per_offset[i % spacing] = per_offset.get(i % spacing, 0) + 1
    out = {}
    for name, secs in (("1m", 60), ("15m", 900), ("1h", 3600)):
        out[name] = sum(
            count * len({(k * spacing + offset) // secs for k in range(steps)}) * len(PROPS)
            for offset, count in per_offset.items()
        )
    return out


def generate(conn: object, ids: list[int], steps: int, spacing: int) -> tuple[datetime, float]:
    """Readings into a fresh copy of the previous month's partition, then the rollups; returns the anchor
    and the seconds it took."""
    now = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[attr-defined]
    anchor = (now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)).replace(day=1)
    end_data = anchor + timedelta(seconds=steps * spacing)
    month_end = (anchor + timedelta(days=32)).replace(day=1)
    if end_data >= month_end:
        raise SystemExit(f"{steps} readings at {spacing} s do not fit in one month")
    part = partition_name(anchor)
    t_start = time.perf_counter()
    print(f"\nGenerating the data (anchor {anchor:%Y-%m-%d %H:%M %Z}, partition {part}) ...")
    # Readings: a fresh partition, loaded, then attached (attaching builds its indexes).
    gen_sql = GEN_READINGS_SQL.format(
        part=part, steps=steps, source=SOURCE, prefix=PREFIX, anchor=anchor.isoformat(), spacing=spacing
    ).replace("%%", "%")
    with conn.transaction():  # type: ignore[attr-defined]
        conn.execute("SET LOCAL jit = off")  # type: ignore[attr-defined]
        attached = conn.execute(  # type: ignore[attr-defined]
            "SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(%s) AND inhparent = 'telemetry_reading'::regclass",
            [part],
        ).fetchone()
        if attached:
            other = conn.execute(  # type: ignore[attr-defined]
                f"SELECT count(*) FROM {part} WHERE NOT sensor_id = ANY(%s)", [ids]
            ).fetchone()[0]
            print(
                f"  SQL: ALTER TABLE telemetry_reading DETACH PARTITION {part}; DROP TABLE {part}"
                f"   ({other:,} rows of other sensors in it are dropped too: benchmark database)"
            )
            conn.execute(f"ALTER TABLE telemetry_reading DETACH PARTITION {part}")  # type: ignore[attr-defined]
            conn.execute(f"DROP TABLE {part}")  # type: ignore[attr-defined]
        else:
            conn.execute(f"DROP TABLE IF EXISTS {part}")  # type: ignore[attr-defined]
        # Rows of this month sitting in the default partition would block the ATTACH.
        conn.execute(  # type: ignore[attr-defined]
            "DELETE FROM telemetry_reading_default WHERE time >= %s AND time < %s", [anchor, month_end]
        )
        conn.execute(f"CREATE TABLE {part} (LIKE telemetry_reading INCLUDING DEFAULTS)")  # type: ignore[attr-defined]
        print(f"  SQL: CREATE TABLE {part} (LIKE telemetry_reading INCLUDING DEFAULTS)")
        print("  SQL: " + gen_sql.replace("\n", "\n       "))
        t0 = time.perf_counter()
        n = conn.execute(gen_sql).rowcount  # type: ignore[attr-defined]
        t1 = time.perf_counter()
        attach = (
            f"ALTER TABLE telemetry_reading ATTACH PARTITION {part} FOR VALUES FROM ('{anchor.isoformat()}') "
            f"TO ('{month_end.isoformat()}')"
        )
        print(f"  SQL: {attach}")
        conn.execute("SET LOCAL maintenance_work_mem = '1GB'")  # type: ignore[attr-defined]
        conn.execute(attach)  # type: ignore[attr-defined]
        t2 = time.perf_counter()
    print(f"  {n:,} readings inserted in {t1 - t0:.1f} s ({n / (t1 - t0):,.0f}/s); attach + indexes {t2 - t1:.1f} s")

    # Rollups: indexes dropped and rebuilt in the same transaction (a failure rolls everything back).
    defs = conn.execute(  # type: ignore[attr-defined]
        "SELECT c.relname, pg_get_indexdef(i.indexrelid), con.conname, pg_get_constraintdef(con.oid) "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid "
        "WHERE i.indrelid = 'telemetry_rollup'::regclass ORDER BY i.indisprimary DESC, c.relname"
    ).fetchall()
    days = math.ceil(steps * spacing / 86400)
    with conn.transaction():  # type: ignore[attr-defined]
        conn.execute("SET LOCAL jit = off")  # type: ignore[attr-defined]
        conn.execute("SET LOCAL work_mem = '512MB'")  # type: ignore[attr-defined]
        conn.execute("SET LOCAL maintenance_work_mem = '1GB'")  # type: ignore[attr-defined]
        conn.execute("SET LOCAL session_replication_role = replica")  # type: ignore[attr-defined]
        deleted = conn.execute("DELETE FROM telemetry_rollup WHERE sensor_id = ANY(%s)", [ids]).rowcount  # type: ignore[attr-defined]
        if deleted:
            print(
                f"  SQL: DELETE FROM telemetry_rollup WHERE sensor_id = ANY(<the {len(ids)} sensors>)   ({deleted:,} old rows)"
            )
        for name, _indexdef, conname, _condef in defs:
            if conname:
                conn.execute(f"ALTER TABLE telemetry_rollup DROP CONSTRAINT {conname}")  # type: ignore[attr-defined]
            else:
                conn.execute(f"DROP INDEX {name}")  # type: ignore[attr-defined]
        print(
            "  SQL: SET LOCAL session_replication_role = replica; DROP the indexes of telemetry_rollup: "
            + ", ".join(d[0] for d in defs)
        )
        print(
            "  SQL, once per day of data (a = day start, b = a + 1 day):\n       "
            + GEN_ROLLUP_SQL.replace("\n", "\n       ")
        )
        t3 = time.perf_counter()
        rows = 0
        for d in range(days):
            a = anchor + timedelta(days=d)
            rows += conn.execute(GEN_ROLLUP_SQL, {"ids": ids, "a": a, "b": a + timedelta(days=1)}).rowcount  # type: ignore[attr-defined]
            print(f"    day {d + 1}/{days}: {rows:,} rollup rows so far, {time.perf_counter() - t3:.0f} s", flush=True)
        t4 = time.perf_counter()
        for _name, indexdef, conname, condef in defs:
            sql = f"ALTER TABLE telemetry_rollup ADD CONSTRAINT {conname} {condef}" if conname else indexdef
            print(f"  SQL: {sql}")
            conn.execute(sql)  # type: ignore[attr-defined]
        t5 = time.perf_counter()
    print(f"  {rows:,} rollup rows in {t4 - t3:.1f} s; indexes rebuilt in {t5 - t4:.1f} s")
    missing = conn.execute(  # type: ignore[attr-defined]
        "SELECT count(*) FROM (SELECT DISTINCT sensor_id FROM telemetry_rollup WHERE resolution = '1h') r "
        "LEFT JOIN sensors_sensor s ON s.id = r.sensor_id WHERE s.id IS NULL"
    ).fetchone()[0]
    print(f"  FK check (rollup sensors missing from sensors_sensor): {missing}")
    t6 = time.perf_counter()
    conn.execute(f"VACUUM ANALYZE {part}")  # type: ignore[attr-defined]
    conn.execute("VACUUM ANALYZE telemetry_rollup")  # type: ignore[attr-defined]
    conn.execute("ANALYZE telemetry_reading")  # type: ignore[attr-defined]
    t7 = time.perf_counter()
    print(
        f"  SQL: VACUUM ANALYZE {part}; VACUUM ANALYZE telemetry_rollup; ANALYZE telemetry_reading  ({t7 - t6:.1f} s)"
    )
    total = time.perf_counter() - t_start
    print(f"  generation took {total:.0f} s in all")
    return anchor, total


def district_rows(conn: object) -> None:
    """The per-district rows equal a recomputation from the 1 h rollups; rebuilt (and timed) if not."""
    bl.setup_django()
    from apps.telemetry.district_rollups import drift

    t0 = time.perf_counter()
    differing = drift()
    t1 = time.perf_counter()
    print(
        f"\nPer-district rollups: {differing:,} rows differ from a recomputation from the 1 h rollups ({t1 - t0:.1f} s)"
    )
    if differing:
        conn.execute("SET work_mem = '256MB'")  # type: ignore[attr-defined]
        rows = conn.execute("SELECT telemetry_district_rollup_rebuild()").fetchone()[0]  # type: ignore[attr-defined]
        conn.execute("RESET work_mem")  # type: ignore[attr-defined]
        t2 = time.perf_counter()
        conn.execute("VACUUM ANALYZE telemetry_district_rollup")  # type: ignore[attr-defined]
        print(
            f"  SQL: SELECT telemetry_district_rollup_rebuild()  (the backfill: {rows:,} rows in {t2 - t1:.1f} s); "
            f"now {drift():,} differ"
        )
    total = conn.execute("SELECT count(*) FROM telemetry_district_rollup").fetchone()[0]  # type: ignore[attr-defined]
    print(f"  {total:,} per-district rows, {bl.pg_size(conn, 'telemetry_district_rollup') / 1e6:.1f} MB")


def check_rollups(conn: object, ids: list[int], start: datetime, end: datetime) -> tuple[int, int]:
    return conn.execute(CHECK_SQL, {"ids": ids, "a": start, "b": end}).fetchone()  # type: ignore[attr-defined]


def same_answer(conn: object, ours_sql: str, raw_sql: str) -> tuple[int, float]:
    """Both queries' rows; returns (rows, the largest relative difference of any value)."""
    a = conn.execute(ours_sql).fetchall()  # type: ignore[attr-defined]
    b = conn.execute(raw_sql).fetchall()  # type: ignore[attr-defined]
    if [(r[0], r[1]) for r in a] != [(r[0], r[1]) for r in b]:
        raise SystemExit("the rollup query and the raw query return different groups")
    worst = 0.0
    for ra, rb in zip(a, b, strict=True):
        for x, y in zip(ra[2:], rb[2:], strict=True):
            worst = max(worst, abs(x - y) / max(1.0, abs(y)))
    return len(a), worst


def explain(conn: object, sql: str) -> list[str]:
    return [r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql).fetchall()]  # type: ignore[attr-defined]


def alert_cost(conn: object, ids: list[int], last: datetime) -> None:
    """The SQL that apps.telemetry.services.evaluate_alerts() runs for a set of sensors (the ingest worker's
    upkeep every few seconds, for MQTT and HTTP ingest alike), for these sensors, as if it arrived one minute
    after their last reading: each rule's window query (1 min rollups) and each headline property's anomaly query (15 min and 1 h rollups). Timed once each,
    EXPLAIN ANALYZE in bench/out/rollup_alert_explain.txt."""
    import psycopg

    bl.setup_django()
    from apps.telemetry import services
    from apps.telemetry.catalog import HEADLINE
    from apps.telemetry.models import AlertRule

    now = last + timedelta(minutes=1)
    # Ingest keeps telemetry_latest; this generated history has only rollups: give each sensor its newest
    # minute as its latest value (what ingest would have left), once.
    conn.execute(  # type: ignore[attr-defined]
        """INSERT INTO telemetry_latest (sensor_id, property, time, value, received_at)
           SELECT DISTINCT ON (sensor_id, property) sensor_id, property, bucket + interval '59 seconds',
                  total / n, bucket + interval '1 minute'
           FROM telemetry_rollup
           WHERE resolution = '1m' AND sensor_id = ANY(%s) AND bucket > %s::timestamptz - interval '1 day'
           ORDER BY sensor_id, property, bucket DESC
           ON CONFLICT (sensor_id, property) DO NOTHING""",
        [ids, last],
    )
    queries = []
    for rule in AlertRule.objects.filter(enabled=True).order_by("id"):
        params = {
            "property": rule.property,
            "ids": ids,
            "since": now - timedelta(seconds=rule.duration_s + 3600 * 24 * 8),
            "comparison": rule.comparison,
            "threshold": rule.threshold,
            "free_flow": services.DEFAULT_FREE_FLOW_KMH,
            "duration": rule.duration_s,
        }
        queries.append((f"rule window query, rule {rule.name!r}", services._RULE_WINDOW_SQL, params))
    for prop in HEADLINE.values():
        params = {"property": prop, "ids": ids, "days": services.ANOMALY_DAYS}
        queries.append((f"anomaly query, {prop}", services._ANOMALY_SQL, params))
    print(
        f"\nWhat this history costs ingest: the SQL evaluate_alerts() runs for a set of sensors (the ingest "
        f"worker's upkeep, every 5 s for the sensors folded since, MQTT and HTTP alike), here for these {len(ids):,} "
        "sensors one minute after their last reading (apps/telemetry/services.py):"
    )
    conn.execute("SET statement_timeout = '180s'")  # type: ignore[attr-defined]
    plans = []
    total = 0.0
    for label, sql, params in queries:
        filled = psycopg.ClientCursor(conn).mogrify(sql, params)
        t0 = time.perf_counter()
        rows = len(conn.execute(filled).fetchall())  # type: ignore[attr-defined]
        secs = time.perf_counter() - t0
        total += secs
        plan = [r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + filled).fetchall()]  # type: ignore[attr-defined]
        plans.append(f"-- {label}: {secs * 1000:.0f} ms, {rows} rows\n" + "\n".join(plan))
        print(f"  {secs * 1000:9,.0f} ms  {label} ({rows} rows)")
    conn.execute("RESET statement_timeout")  # type: ignore[attr-defined]
    path = bl.OUT / "rollup_alert_explain.txt"
    path.write_text("\n\n".join(plans) + "\n")
    print(
        f"  {total * 1000:9,.0f} ms  in all, per evaluation (plans: {path.relative_to(bl.ROOT)}); the ingest benchmark's "
        "sensors have no history, so it does not see this"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--sensors", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=10000, help="readings per sensor")
    ap.add_argument("--spacing", type=int, default=90, help="seconds between a sensor's readings")
    ap.add_argument("--regenerate", action="store_true", help="rebuild the data even if it is there")
    ap.add_argument("--no-alerts", action="store_true", help="skip timing the alert queries over this history")
    args = ap.parse_args()

    bl.banner(
        "bench_rollup",
        "hourly per-district means: telemetry_district_rollup and telemetry_rollup (1h) vs GROUP BY over raw readings",
    )
    print(bl.load_text())
    bl.prepare_bench_db()
    conn = bl.connect(autocommit=True)
    conn.execute("SET jit = off")  # as the application's connections (city/settings/base.py)
    sensors = bl.ensure_sensors(conn, SOURCE, PREFIX, args.sensors)
    ids = [i for i, _ in sensors]
    want_readings = args.sensors * args.steps
    want_rollups = expected_rollups(ids, args.steps, args.spacing)
    have = existing(conn, ids)
    gen_seconds = None
    if args.regenerate or have["readings"] != want_readings or have["rollups"] != want_rollups:
        print(
            f"\nStored for the {len(ids)} benchmark sensors: {have['readings']:,} readings, rollups {have['rollups']}; "
            f"want {want_readings:,} and {want_rollups}"
        )
        _, gen_seconds = generate(conn, ids, args.steps, args.spacing)
        have = existing(conn, ids)
        if have["readings"] != want_readings or have["rollups"] != want_rollups:
            raise SystemExit(f"generation produced {have}, expected {want_readings:,} readings and {want_rollups}")
    district_rows(conn)
    first, last = have["first"], have["last"]
    part = partition_name(first)
    day_end = last.replace(hour=0, minute=0, second=0, microsecond=0)  # the last full day ends here
    windows = [
        ("1 day", day_end - timedelta(days=1), day_end),
        ("7 days", day_end - timedelta(days=7), day_end),
        ("all", first.replace(minute=0, second=0, microsecond=0), last + timedelta(hours=1)),
    ]
    sizes = {
        "readings partition": bl.pg_size(conn, part),
        "telemetry_rollup": bl.pg_size(conn, "telemetry_rollup"),
    }
    total_rollups = sum(have["rollups"].values())
    print(
        f"\nData: {len(ids):,} traffic sensors x {args.steps:,} readings at {args.spacing} s = {have['readings']:,} readings "
        f"({first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M} UTC), properties {', '.join(PROPS)}; "
        f"rollup rows: " + ", ".join(f"{r} {have['rollups'][r]:,}" for r, _ in RESOLUTIONS) + f" ({total_rollups:,})"
    )
    print(
        "Disk: "
        + ", ".join(f"{k} {v / 1e9:.2f} GB" for k, v in sizes.items())
        + " (tables + indexes; the rollup table also holds other sensors' rows, if any)"
        + (f"; generated in this run in {gen_seconds:.0f} s" if gen_seconds else "; reused (--regenerate to rebuild)")
    )
    districts = conn.execute(f"SELECT count(DISTINCT district_id), count(*) FROM ({SENSOR_DISTRICT}) sd").fetchone()
    print(f"Districts: {districts[0]} (the demo grid cells); {districts[1]:,} traffic sensors joined to them")

    # The 1 h rows equal what the product's expression gives over the raw readings (1 day checked).
    checked, wrong = check_rollups(conn, ids, windows[0][1], windows[0][2])
    print(
        f"Check: {checked:,} 1 h rollup rows of the last day recomputed from raw readings with the product's bucket "
        f"expression: {wrong} differ"
    )

    cases = []
    for label, start, end in windows:
        slug = label.replace(" ", "")
        ours_sql = OURS_SQL.format(start=start.isoformat(), end=end.isoformat())
        sensor_sql = PER_SENSOR_SQL.format(sd=SENSOR_DISTRICT, start=start.isoformat(), end=end.isoformat())
        raw_sql = RAW_SQL.format(sd=SENSOR_DISTRICT, start=start.isoformat(), end=end.isoformat())
        ours_file, raw_file = bl.OUT / f"rollup_ours_{slug}.sql", bl.OUT / f"rollup_raw_{slug}.sql"
        sensor_file = bl.OUT / f"rollup_per_sensor_{slug}.sql"
        ours_file.write_text(ours_sql + ";\n")
        sensor_file.write_text(sensor_sql + ";\n")
        raw_file.write_text(raw_sql + ";\n")
        n_readings = conn.execute(
            "SELECT count(*) FROM telemetry_reading WHERE time >= %s AND time < %s", [start, end]
        ).fetchone()[0]
        rows, worst = same_answer(conn, ours_sql, raw_sql)
        _, worst_sensor = same_answer(conn, sensor_sql, raw_sql)
        plan_file = bl.OUT / f"rollup_explain_{slug}.txt"
        ours_plan, sensor_plan, raw_plan = explain(conn, ours_sql), explain(conn, sensor_sql), explain(conn, raw_sql)
        plan_file.write_text(
            "-- ours\n"
            + "\n".join(ours_plan)
            + "\n\n-- per-sensor rollups\n"
            + "\n".join(sensor_plan)
            + "\n\n-- baseline\n"
            + "\n".join(raw_plan)
            + "\n"
        )
        exec_line = lambda plan: next((p for p in plan if p.startswith("Execution Time")), "?")  # noqa: E731
        print(
            f"\nWindow {label}: {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC, {n_readings:,} readings; "
            f"{rows} (district, hour) rows, largest relative difference vs baseline: ours {worst:.1e}, "
            f"per-sensor {worst_sensor:.1e}"
        )
        print(
            f"  EXPLAIN ANALYZE: ours {exec_line(ours_plan)}, per-sensor {exec_line(sensor_plan)}, "
            f"baseline {exec_line(raw_plan)} (plans: {plan_file.relative_to(bl.ROOT)})"
        )
        print(
            f"  ours:     $ PGOPTIONS='{PGOPTIONS}' {bl.shell_line(bl.pgbench_command(ours_file, args.seconds))}   (plus -l)"
        )
        print(
            f"  per-sensor: $ PGOPTIONS='{PGOPTIONS}' {bl.shell_line(bl.pgbench_command(sensor_file, args.seconds))}   (plus -l)"
        )
        print(
            f"  baseline: $ PGOPTIONS='{PGOPTIONS}' {bl.shell_line(bl.pgbench_command(raw_file, args.seconds))}   (plus -l)"
        )
        cases.append(
            {
                "label": label,
                "ours": ours_file,
                "sensor": sensor_file,
                "raw": raw_file,
                "readings": n_readings,
                "a": [],
                "s": [],
                "b": [],
            }
        )

    print(f"\nRounds (baseline, per-sensor, ours; {args.seconds} s each; queries/s and p50):")
    for r in range(1, args.rounds + 1):
        parts = []
        for case in cases:
            a, _ = bl.pgbench(case["raw"], args.seconds, pgoptions=PGOPTIONS)
            p, _ = bl.pgbench(case["sensor"], args.seconds, pgoptions=PGOPTIONS)
            b, _ = bl.pgbench(case["ours"], args.seconds, pgoptions=PGOPTIONS)
            case["a"].append(a)
            case["s"].append(p)
            case["b"].append(b)
            parts.append(
                f"{case['label']}: baseline {a.per_s:6.2f} q/s p50 {bl.pct(a.latencies_ms, 50):7.1f} ms | per-sensor "
                f"{p.per_s:6.1f} q/s p50 {bl.pct(p.latencies_ms, 50):6.1f} ms | ours "
                f"{b.per_s:7.1f} q/s p50 {bl.pct(b.latencies_ms, 50):6.2f} ms"
            )
        print(f"  round {r}: " + "\n           ".join(parts))

    print(bl.load_text())
    bl.header(
        f"bench_rollup summary ({have['readings']:,} readings; medians over {args.rounds} rounds, latencies pooled)"
    )
    print(
        f"{'window':<9}{'readings':>12}  {'baseline: raw GROUP BY':<52}{'per-sensor 1h rollups':<52}"
        f"{'ours: per-district 1h rollups':<52}"
    )
    for case in cases:
        cols = []
        for key in ("a", "s", "b"):
            rate = bl.median([s.per_s for s in case[key]])
            cols.append(f"{f'{rate:.2f} q/s, ' + bl.lat_text([x for s in case[key] for x in s.latencies_ms]):<52}")
        print(f"{case['label']:<9}{case['readings']:>12,}  " + "".join(cols))
    for case in cases:
        b_p50 = bl.pct([x for s in case["b"] for x in s.latencies_ms], 50)
        s_p50 = bl.pct([x for s in case["s"] for x in s.latencies_ms], 50)
        ratio = bl.median([s.per_s for s in case["b"]]) / bl.median([s.per_s for s in case["a"]])
        over_sensor = bl.median([s.per_s for s in case["b"]]) / bl.median([s.per_s for s in case["s"]])
        verdict = "meets" if b_p50 <= 50 else "MISSES"
        print(
            f"{case['label']} window: throughput ratio ours/baseline = {ratio:.1f}x, ours/per-sensor = "
            f"{over_sensor:.1f}x; ours p50 {b_p50:.2f} ms (per-sensor {s_p50:.1f} ms) ({verdict} the p50 <= 50 ms goal)"
        )
    if not args.no_alerts:
        alert_cost(conn, ids, last)
    conn.close()


if __name__ == "__main__":
    main()
