"""The hourly rollups per district (telemetry_district_rollup, model DistrictRollup): what the per-district
queries read, so that a 10-day window reads districts x hours rows instead of sensors x hours.

A row (sensor kind, property, hour, district) holds the sums of the 1 h Rollup rows of the active sensors of
that kind that the district covers (ST_Covers, the rule district_hourly joined by: a sensor on a border
counts in both districts, one outside every district in none): n and total added (a mean is
sum(total) / sum(n), weighted by readings), min of the minima, max of the maxima, and how many sensors.

How it stays equal to the rollups (migration 0008 holds the SQL):
- fold_rollups() (ingest.py), in its transaction, right after upserting the rollups, recomputes the rows of
  the districts covering the sensors it touched, for the hours it touched: a late reading re-folds its hour.
  Rows are recomputed from the rollups, never adjusted by deltas, so they carry no rounding drift and a
  repeat changes nothing.
- A sensor moved, re-kinded, (de)activated or deleted, or a district added, re-shaped or deleted: statement
  triggers on those tables recompute every hour of the (district, kind) pairs before and after the change.
- All of these take the fold's advisory lock. rebuild() recomputes the whole table (the management command
  rebuild_district_rollups; also the migration's backfill), drift() counts the rows that differ from a
  recomputation (rebuild_district_rollups --check).
Rollups written other than by the fold (a bulk load, a test writing Rollup rows) reach this table only
through rebuild().

Not for apps.privacy: its public aggregates ask another question (per district x H3 atom, a sensor's hourly
mean rather than its readings, clamped per sensor for DP, a border sensor in the lowest-id district only) and
keep reading the per-sensor rollups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection, transaction

# Everything the table should hold, recomputed from the rollups (the same rule as the upkeep functions).
_EXPECTED_SQL = """
SELECT s.kind, r.property, r.bucket, d.id AS district_id,
       sum(r.n) AS n, sum(r.total) AS total, min(r.minimum) AS minimum, max(r.maximum) AS maximum,
       count(*) AS sensors
FROM telemetry_rollup r
JOIN sensors_sensor s ON s.id = r.sensor_id AND s.active
JOIN districts_district d ON ST_Covers(d.geom, s.geom)
WHERE r.resolution = '1h'
GROUP BY 1, 2, 3, 4
"""

_DRIFT_SQL = f"""
SELECT count(*)
FROM telemetry_district_rollup t
FULL JOIN ({_EXPECTED_SQL}) e USING (kind, property, bucket, district_id)
WHERE t.n IS DISTINCT FROM e.n OR t.sensors IS DISTINCT FROM e.sensors
   OR t.minimum IS DISTINCT FROM e.minimum OR t.maximum IS DISTINCT FROM e.maximum
   OR abs(t.total - e.total) > %(tolerance)s * greatest(1, abs(e.total))
"""


def refresh_district_rollups(*, sensor_ids: Sequence[int], hours: Sequence[datetime]) -> int:
    """Recompute the district rows of these hours for every district covering one of these sensors (the
    fold's call, inside its transaction). Returns the number of rows written."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT telemetry_district_rollup_refresh(%s::bigint[], %s::timestamptz[])", [list(sensor_ids), list(hours)]
        )
        return int(cursor.fetchone()[0])


@transaction.atomic
def rebuild() -> int:
    """Recompute the whole table from the 1 h rollups. Returns the number of rows."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT telemetry_district_rollup_rebuild()")
        return int(cursor.fetchone()[0])


def drift(*, tolerance: float = 1e-9) -> int:
    """How many rows differ from a recomputation (missing, extra, or other values; totals compared
    relatively: the sums are the same numbers added in another order)."""
    with connection.cursor() as cursor:
        cursor.execute(_DRIFT_SQL, {"tolerance": tolerance})
        return int(cursor.fetchone()[0])
