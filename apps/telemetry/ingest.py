"""The write path for sensor readings, shared by MQTT and HTTP ingest.

ingest(batch) checks every reading (the quality gate, gate.py; docs/ingest.md lists the reason codes), its
sensor (which a device account may only learn about if it is its own) and its rate of change, then in ONE
transaction:
COPY the valid ones into a staging table, INSERT them into the partitioned readings table with ON CONFLICT
DO NOTHING (a reading delivered twice is stored once), update the latest values and queue the rows actually
inserted for the rollups, and write the quarantine rows. Only after the commit does the caller acknowledge
the messages (MQTT) or answer the request (HTTP), and does anything get published to browsers.
fold_rollups() then moves the queued readings into the 1 min / 15 min / 1 h rollups and queues their sensors
for the alert evaluation (take_alert_sensors()): the MQTT ingest worker's maintenance thread does both every
second or so for whatever was stored, over MQTT or HTTP (docs/ingest.md, "Upkeep")."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils import timezone

from apps.sensors.models import Sensor

from . import conf
from .catalog import properties_of
from .district_rollups import refresh_district_rollups
from .gate import (
    Limits,
    Reject,
    check_seq,
    check_time,
    check_values,
    could_exist,
    parse_message,
    payload_text,
    sensor_code,
    short,
)
from .models import QuarantinedReading, QuarantineReason
from .payloads import Unreadable, pg_text


@dataclass(frozen=True, slots=True)
class IncomingReading:
    """One message as it arrived. `payload` is raw bytes (MQTT) or the parsed item (HTTP: any JSON value, or
    an Unreadable when it could not be parsed)."""

    source: str  # mqtt | http
    # The sensor the transport names (MQTT: the topic's level, "" if empty), which the body cannot override;
    # None: each reading names its sensor in its body (HTTP).
    sensor_code: str | None
    payload: object
    received_at: datetime
    # Device accounts may only publish for their own sensor; None: any sensor.
    allowed_codes: frozenset[str] | None = None


@dataclass
class Rejection:
    index: int
    sensor_code: str
    reason: str
    detail: str
    time: datetime | None = None
    # The reading itself when its message carried several (a JSON array): quarantined on its own.
    item: Any = None
    # What the sender is told, if not the reason and detail above (which the quarantine keeps for staff).
    shown: tuple[str, str] | None = None

    def for_sender(self) -> tuple[str, str]:
        """The reason and detail the account that sent the reading may see."""
        return self.shown or (self.reason, self.detail)


@dataclass(slots=True)
class StoredReading:
    sensor_id: int
    code: str
    kind: str
    lon: float
    lat: float
    time: datetime
    values: dict[str, float]


@dataclass
class IngestResult:
    received: int
    stored: list[StoredReading] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    # Already stored with the same values: a redelivery (broker or device retry), not a data problem.
    redelivered: int = 0


@dataclass(slots=True)
class _Candidate:
    index: int
    sensor: dict[str, Any]
    time: datetime
    seq: int | None
    values: dict[str, float]
    received_at: datetime
    item: Any = None  # the reading, if its message held several


def _sensors_by_code(codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    # Coordinates as numbers straight from PostGIS: building a GEOS point per sensor cost ~40 ms per
    # 1,000 sensors, a tenth of a whole batch.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, code, kind, active, ST_X(geom), ST_Y(geom) FROM {Sensor._meta.db_table} WHERE code = ANY(%s)",
            [list(set(codes))],
        )
        return {
            code: {"id": id_, "code": code, "kind": kind, "active": active, "lon": lon, "lat": lat}
            for id_, code, kind, active, lon, lat in cursor.fetchall()
        }


@cache  # the catalog is code, not data
def _rate_limits(kind: str) -> dict[str, float]:
    return {name: prop.max_rate_per_min for name, prop in properties_of(kind).items() if prop.max_rate_per_min}


def _latest(candidates: Sequence[_Candidate]) -> dict[tuple[int, str], tuple[datetime, float]]:
    """The stored newest value of every (sensor, property) the rate check needs: rate-limited ones only."""
    ids = list({c.sensor["id"] for c in candidates})
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT sensor_id, property, time, value FROM telemetry_latest WHERE sensor_id = ANY(%s)", [ids])
        return {(s, p): (t, v) for s, p, t, v in cursor.fetchall()}


def _check_rates(
    candidates: list[_Candidate], latest: dict[tuple[int, str], tuple[datetime, float]]
) -> list[Rejection]:
    """Reject readings whose change from the previous value of the same sensor is physically impossible.
    `candidates`: only those of kinds with rate limits (the others have nothing to check)."""
    rejected: list[Rejection] = []
    previous = dict(latest)
    for cand in sorted(candidates, key=lambda c: (c.sensor["id"], c.time)):
        limits = _rate_limits(cand.sensor["kind"])
        problem = None
        for name, value in cand.values.items():
            limit = limits.get(name)
            before = previous.get((cand.sensor["id"], name))
            if limit is None or before is None:
                continue
            minutes = max(abs((cand.time - before[0]).total_seconds()) / 60, 1 / 60)
            rate = abs(value - before[1]) / minutes
            if rate > limit:
                problem = f"{name} changed from {before[1]:g} to {value:g} in {minutes * 60:.0f} s ({rate:g}/min; at most {limit:g}/min)"
                break
        if problem:
            rejected.append(
                Rejection(
                    cand.index, cand.sensor["code"], QuarantineReason.RATE_OF_CHANGE, problem, cand.time, cand.item
                )
            )
            cand.values = {}
        else:
            for name, value in cand.values.items():
                previous[(cand.sensor["id"], name)] = (cand.time, value)
    return rejected


WRITE_SQL = """
WITH ins AS (
    INSERT INTO telemetry_reading (sensor_id, time, received_at, seq, values)
    SELECT sensor_id, time, received_at, seq, values FROM ingest_stage ORDER BY sensor_id, time
    ON CONFLICT (sensor_id, time) DO NOTHING
    RETURNING sensor_id, time, received_at, values
),
vals AS (
    SELECT i.sensor_id, i.time, i.received_at, kv.key AS property, (kv.value #>> '{}')::float8 AS value
    FROM ins i CROSS JOIN LATERAL jsonb_each(i.values) kv
),
-- The rollups are folded in later (fold_rollups): here only the readings actually inserted are queued.
pending AS (
    INSERT INTO telemetry_pending_rollup (sensor_id, time, values) SELECT sensor_id, time, values FROM ins
    RETURNING 1
),
newest AS (
    INSERT INTO telemetry_latest AS l (sensor_id, property, time, value, received_at)
    SELECT DISTINCT ON (sensor_id, property) sensor_id, property, time, value, received_at
    FROM vals ORDER BY sensor_id, property, time DESC
    ON CONFLICT (sensor_id, property) DO UPDATE
        SET time = EXCLUDED.time, value = EXCLUDED.value, received_at = EXCLUDED.received_at
        WHERE EXCLUDED.time > l.time
    RETURNING 1
)
-- Only the staged readings NOT inserted (already stored: a redelivery or a conflict), normally none: reading
-- back every inserted key cost more than the insert's own Python side.
SELECT s.sensor_id, s.time FROM ingest_stage s
WHERE NOT EXISTS (SELECT 1 FROM ins i WHERE i.sensor_id = s.sensor_id AND i.time = s.time)
"""


_FOLD_SQL = """
WITH moved AS (
    DELETE FROM telemetry_pending_rollup RETURNING sensor_id, time, values
),
vals AS (
    SELECT m.sensor_id, m.time, kv.key AS property, (kv.value #>> '{}')::float8 AS value
    FROM moved m
    JOIN sensors_sensor s ON s.id = m.sensor_id  -- a sensor deleted meanwhile leaves no orphan rollups
    CROSS JOIN LATERAL jsonb_each(m.values) kv
),
-- Buckets with date_bin() (epoch-aligned, the same buckets as floor(epoch / width) * width, without the
-- numeric arithmetic), and only once per reading: 15 min and 1 h are folded from the 1 min groups.
m1 AS (
    SELECT sensor_id, property, date_bin('1 minute', time, '1970-01-01 00:00:00+00') AS bucket,
           count(*)::int AS n, sum(value) AS total, min(value) AS minimum, max(value) AS maximum
    FROM vals GROUP BY 1, 2, 3
),
rolled AS (
INSERT INTO telemetry_rollup AS r (resolution, sensor_id, property, bucket, n, total, minimum, maximum)
SELECT '1m', sensor_id, property, bucket, n, total, minimum, maximum FROM m1
UNION ALL
SELECT res.name, m1.sensor_id, m1.property, date_bin(res.width, m1.bucket, '1970-01-01 00:00:00+00'),
       sum(m1.n), sum(m1.total), min(m1.minimum), max(m1.maximum)
FROM m1 CROSS JOIN (VALUES ('15m', interval '15 minutes'), ('1h', interval '1 hour')) AS res(name, width)
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
ON CONFLICT (resolution, sensor_id, property, bucket) DO UPDATE
    SET n = r.n + EXCLUDED.n, total = r.total + EXCLUDED.total,
        minimum = least(r.minimum, EXCLUDED.minimum), maximum = greatest(r.maximum, EXCLUDED.maximum)
RETURNING resolution, sensor_id, bucket
)
-- The sensors and hours whose district rows (district_rollups.py) the fold must recompute.
SELECT count(*), array_agg(DISTINCT sensor_id) FILTER (WHERE resolution = '1h'),
       array_agg(DISTINCT bucket) FILTER (WHERE resolution = '1h')
FROM rolled
"""
FOLD_LOCK = 7_404_211  # pg advisory lock key: one folder at a time


def fold_rollups(*, wait: bool = False) -> int | None:
    """Move the readings queued by ingest into the 1 min / 15 min / 1 h rollups (count, sum, min, max), in
    one transaction: each reading is counted exactly once, whoever calls this and however often. Returns the
    number of rollup rows written. If another process is folding right now: wait for it and fold what is left
    (wait=True: the caller's own readings are in the rollups when this returns), or return None at once (the
    MQTT worker: it folds again a second later). The per-district rows of the hours it touched are
    recomputed in the same transaction (district_rollups.py), and the sensors folded are queued for the
    alert evaluation (take_alert_sensors()), whoever stored their readings.
    Readings of one sensor that arrived together land in one rollup row: the fuller the queue (a backlog
    after an outage), the fewer rows per reading."""
    with transaction.atomic(), connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FOLD_LOCK])
        else:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FOLD_LOCK])
            if not cursor.fetchone()[0]:
                return None
        cursor.execute(_FOLD_SQL)
        written, sensors, hours = cursor.fetchone()
        if sensors:  # every reading folded has a 1 h row: these are all the sensors folded
            refresh_district_rollups(sensor_ids=sensors, hours=hours)
            cursor.execute(_QUEUE_ALERTS_SQL, [sensors])
        return int(written)


_QUEUE_ALERTS_SQL = (
    "INSERT INTO telemetry_pending_alert (sensor_id) SELECT unnest(%s::bigint[]) ON CONFLICT (sensor_id) DO NOTHING"
)


def queue_alert_sensors(sensor_ids: Iterable[int]) -> None:
    """Queue sensors for the alert evaluation (the fold does it for what it folds; this puts back sensors
    whose evaluation failed)."""
    with connection.cursor() as cursor:
        cursor.execute(_QUEUE_ALERTS_SQL, [sorted(sensor_ids)])


def take_alert_sensors() -> set[int]:
    """The sensors folded since the last call (by any process), removed from the queue: whoever takes them
    evaluates their alerts. Committed at once (its own transaction unless the caller has one), so two takers
    never get the same sensor."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM telemetry_pending_alert RETURNING sensor_id")
        return {s for (s,) in cursor.fetchall()}


def _copy_text(candidates: Sequence[_Candidate]) -> str:
    """The staged rows in COPY's text format, built here: nothing in them needs escaping (ids and seq are
    integers, times ISO 8601, the values' names come from the catalog and their values are finite floats),
    and one write per batch costs a fraction of a write_row() per reading."""
    received: dict[datetime, str] = {}  # one arrival time per batch, usually
    lines = []
    for c in candidates:
        at = received.get(c.received_at) or received.setdefault(c.received_at, c.received_at.isoformat())
        seq = "\\N" if c.seq is None else str(c.seq)
        lines.append(f"{c.sensor['id']}\t{c.time.isoformat()}\t{at}\t{seq}\t{orjson.dumps(c.values).decode()}\n")
    return "".join(lines)


def _write(candidates: Sequence[_Candidate]) -> set[tuple[int, datetime]]:
    """Stage and insert; returns the (sensor, time) keys NOT inserted (already stored; normally none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS ingest_stage (sensor_id bigint, time timestamptz, received_at timestamptz,"
            " seq bigint, values jsonb) ON COMMIT DELETE ROWS"
        )
        with (
            connection.connection.cursor() as raw,
            raw.copy("COPY ingest_stage (sensor_id, time, received_at, seq, values) FROM STDIN") as copy,
        ):
            copy.write(_copy_text(candidates))
        cursor.execute(WRITE_SQL)
        return {(s, t) for s, t in cursor.fetchall()}


def _stored_values(candidates: Sequence[_Candidate]) -> dict[tuple[int, datetime], dict[str, float]]:
    if not candidates:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.sensor_id, r.time, r.values FROM telemetry_reading r "
            "JOIN unnest(%s::bigint[], %s::timestamptz[]) AS k(sensor_id, time) USING (sensor_id, time)",
            [[c.sensor["id"] for c in candidates], [c.time for c in candidates]],
        )
        return {(s, t): (json.loads(v) if isinstance(v, str) else v) for s, t, v in cursor.fetchall()}


def _recorded_code(named: str | None, body: Any = None) -> str:
    """The sensor code a quarantine row and the sender's answer show: whatever was named, made storable."""
    code = named if named is not None else body.get("sensor") if isinstance(body, dict) else None
    return pg_text(code)[:64] if isinstance(code, str) else ""


def _sensor_of(code: str, message: IncomingReading, sensors: dict[str, dict[str, Any]]) -> dict[str, Any]:
    sensor = sensors.get(code)
    allowed = message.allowed_codes
    if allowed is not None and code not in allowed:
        # The same answer whether the sensor exists or not: a device must not learn which codes exist.
        # The quarantine keeps the precise reason for staff.
        shown = (QuarantineReason.FORBIDDEN_SENSOR, f"this account may publish only for {', '.join(sorted(allowed))}")
        if sensor is None:
            raise Reject(QuarantineReason.UNKNOWN_SENSOR, f"no sensor with code {short(code)}", shown=shown)
        raise Reject(QuarantineReason.FORBIDDEN_SENSOR, f"{shown[1]}, not for {short(code)}", shown=shown)
    if sensor is None:
        raise Reject(QuarantineReason.UNKNOWN_SENSOR, f"no sensor with code {short(code)}")
    if not sensor["active"]:
        raise Reject(QuarantineReason.INACTIVE_SENSOR, f"sensor {short(code)} is inactive")
    return sensor


def ingest(batch: Sequence[IncomingReading], *, now: datetime | None = None) -> IngestResult:
    """Check and store a batch. Never raises for bad readings; raises for database failures (the caller
    retries the whole batch, which is safe: the insert is idempotent)."""
    now = now or timezone.now()
    result = IngestResult(received=len(batch))
    limits = Limits.read(now)
    # (message index, message, one reading, the reading again if its message held several, its sensor code)
    parsed: list[tuple[int, IncomingReading, dict[str, Any], Any, str]] = []

    def reject(index: int, code: str, rej: Reject, item: Any = None) -> None:
        result.rejected.append(Rejection(index, code, rej.reason, rej.detail, rej.time, item, rej.shown))

    for index, message in enumerate(batch):
        try:
            body = parse_message(message.payload, limits)
        except Reject as rej:
            reject(index, _recorded_code(message.sensor_code, message.payload), rej)
            continue
        readings = [(body, None)] if isinstance(body, dict) else [(item, item) for item in body]
        for k, (reading, item) in enumerate(readings):
            try:
                if isinstance(reading, Unreadable):
                    raise Reject(QuarantineReason.MALFORMED, f"element {k} of the array: {reading.detail}")
                if not isinstance(reading, dict):
                    raise Reject(QuarantineReason.MALFORMED, f"element {k} of the array is not a JSON object")
                parsed.append((index, message, reading, item, sensor_code(message.sensor_code, reading)))
            except Reject as rej:
                reject(index, _recorded_code(message.sensor_code, reading), rej, item)
    sensors = _sensors_by_code(code for *_, code in parsed if could_exist(code))
    candidates: list[_Candidate] = []
    seen: dict[tuple[int, datetime], tuple[int, dict[str, float]]] = {}
    for index, message, body, item, code in parsed:
        try:
            sensor = _sensor_of(code, message, sensors)
            when = check_time(body.get("time"), limits)
            values = check_values(body.get("values"), sensor["kind"], when)
            seq = check_seq(body.get("seq"), when)
            key = (sensor["id"], when)
            if key in seen:
                first, first_values = seen[key]
                if first_values == values:
                    result.redelivered += 1  # the same reading twice in one batch: store it once
                    continue
                raise Reject(
                    QuarantineReason.DUPLICATE,
                    f"same sensor and time as message {first} of this batch, other values",
                    when,
                )
            seen[key] = (index, values)
            candidates.append(_Candidate(index, sensor, when, seq, values, message.received_at, item))
        except Reject as rej:
            reject(index, pg_text(code)[:64], rej, item)

    with transaction.atomic():
        # Traffic and energy properties have no rate limit: no previous values to fetch for them.
        limited = [c for c in candidates if _rate_limits(c.sensor["kind"])]
        result.rejected += _check_rates(limited, _latest(limited))
        valid = [c for c in candidates if c.values]
        not_inserted = _write(valid) if valid else set()
        already = _stored_values([c for c in valid if (c.sensor["id"], c.time) in not_inserted])
        for c in valid:
            key = (c.sensor["id"], c.time)
            if key not in not_inserted:
                s = c.sensor
                result.stored.append(StoredReading(s["id"], s["code"], s["kind"], s["lon"], s["lat"], c.time, c.values))
            elif already.get(key) == c.values:
                result.redelivered += 1  # a retry of what is stored: not a data problem, not quarantined
            else:
                result.rejected.append(
                    Rejection(
                        c.index,
                        c.sensor["code"],
                        QuarantineReason.DUPLICATE,
                        f"already stored for this sensor and time with other values: {already.get(key)}",
                        c.time,
                        c.item,
                    )
                )
        if result.rejected:
            by_index = {i: m for i, m in enumerate(batch)}
            QuarantinedReading.objects.bulk_create(
                [
                    QuarantinedReading(
                        received_at=by_index[r.index].received_at,
                        source=by_index[r.index].source,
                        sensor_code=pg_text(r.sensor_code)[:64],
                        reading_time=r.time,
                        reason=r.reason,
                        detail=pg_text(r.detail),
                        payload=payload_text(r.item if r.item is not None else by_index[r.index].payload),
                    )
                    for r in result.rejected
                ]
            )
    result.rejected.sort(key=lambda r: r.index)
    return result


def ensure_partitions(now: datetime | None = None) -> int:
    """Create the monthly partitions around now (last month to two months ahead)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT telemetry_ensure_partitions(%s, 1, 2)", [now or timezone.now()])
        return int(cursor.fetchone()[0])


def prune_raw_readings(*, older_than: timedelta | None = None) -> int:
    """Retention: drop whole monthly partitions that end before the cut-off; delete older rows from the
    default partition. Rollups are kept."""
    cutoff = timezone.now() - (older_than or timedelta(days=conf.raw_retention_days()))
    dropped = 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'telemetry_reading'::regclass AND c.relname <> 'telemetry_reading_default'"
        )
        for name, bound in cursor.fetchall():
            upper = bound.split("TO ('")[1].split("')")[0]
            if datetime.fromisoformat(upper.replace(" ", "T")) <= cutoff:
                cursor.execute(f'DROP TABLE "{name}"')
                dropped += 1
        cursor.execute("DELETE FROM telemetry_reading_default WHERE time < %s", [cutoff])
    return dropped
