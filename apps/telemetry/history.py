"""Writing history: readings measured long ago (a city's archive of loop counts), in bulk.

The live path (ingest.py) checks each reading against the quality gate, whose time window refuses what is
older than CITYTWIN_READING_MAX_PAST_S: right for a device, wrong for an archive. An importer checks its own
values (each against the catalog's range, as the gate does) and hands them here; the write itself keeps the
live path's invariants because it is the live path's SQL (ingest.WRITE_SQL): COPY into a staging table,
INSERT ... ON CONFLICT (sensor, time) DO NOTHING (a re-import stores nothing twice), the latest values
moved forward only, and the rows actually inserted queued for fold_rollups(). A reading already stored with
another value is not overwritten (the rollups hold its value; readings are immutable) but reported."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from .ingest import WRITE_SQL

_STAGE = "ingest_stage"  # the live path's staging table: WRITE_SQL reads it


@dataclass(frozen=True)
class HistoricReading:
    sensor_id: int
    time: datetime  # aware
    values: dict[str, float]


@dataclass
class HistoryResult:
    inserted: int = 0
    unchanged: int = 0  # already stored with the same values: a re-import
    # (index in the batch, the values stored) for readings stored before with other values
    conflicts: list[tuple[int, dict[str, float]]] = field(default_factory=list)


def write_history(readings: Sequence[HistoricReading], *, received_at: datetime) -> HistoryResult:
    """Store a batch of checked readings; must run inside a transaction (the caller's: the staging table
    empties at commit). At most one reading per (sensor, time) in a batch: the caller de-duplicates.
    Call fold_rollups() after the commit."""
    result = HistoryResult()
    if not readings:
        return result
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (sensor_id bigint, time timestamptz, received_at timestamptz,"
            " seq bigint, values jsonb) ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"TRUNCATE {_STAGE}")  # a previous batch of the same transaction
        with (
            connection.connection.cursor() as raw,
            raw.copy(f"COPY {_STAGE} (sensor_id, time, received_at, seq, values) FROM STDIN") as copy,
        ):
            for r in readings:
                copy.write_row((r.sensor_id, r.time, received_at, None, json.dumps(r.values)))
        cursor.execute(WRITE_SQL)  # answers the staged keys it did NOT insert
        result.inserted = len(readings) - len(cursor.fetchall())
        # What was not inserted was stored before; compare its values (the ones just inserted are equal).
        cursor.execute(
            f"SELECT s.sensor_id, s.time, r.values FROM {_STAGE} s "
            "JOIN telemetry_reading r USING (sensor_id, time) WHERE r.values <> s.values"
        )
        stored = {(s, t): (json.loads(v) if isinstance(v, str) else v) for s, t, v in cursor.fetchall()}
        cursor.execute(f"TRUNCATE {_STAGE}")
    if stored:
        for i, r in enumerate(readings):
            other = stored.get((r.sensor_id, r.time))
            if other is not None:
                result.conflicts.append((i, other))
    result.unchanged = len(readings) - result.inserted - len(result.conflicts)
    return result
