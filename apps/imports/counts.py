"""Importing loop-detector counts (`manage.py import_counts`): detectors become traffic sensors on their road
segments, hourly counts become readings in the telemetry store, so imported history and live loops are one
thing (the same sensors, readings, latest values and rollups).

One transaction: the file is streamed in chunks of CHUNK_ROWS rows; each chunk's new detectors are placed
(counts_place.py) and upserted on their natural key (source = the file's dataset, source_id = the loop id),
and its counts are written through telemetry's history path (telemetry/history.py: COPY, idempotent on
(sensor, time)). A failure rolls the whole file back; --dry-run does everything and rolls back. After the
commit the queued readings are folded into the rollups. The ImportRun (lineage, counts, per-row issues) is
written outside the transaction, like load_city's."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import DataError, connection, transaction
from django.utils import timezone

from apps.core.conf import local_time_zone
from apps.core.data_version import city_data_changed
from apps.telemetry.history import HistoricReading, write_history
from apps.telemetry.ingest import fold_rollups

from .counts_place import Placement, network_size, place
from .counts_read import (
    EDGE_COLUMNS,
    GEOPOINT_COLUMNS,
    LAT_COLUMNS,
    CountFile,
    CountRow,
    Detector,
    open_count_file,
    rows,
)
from .exceptions import ImportFileError
from .models import ImportRun, ImportState
from .report import MAX_STORED_ISSUES, KindCounts, RowIssue
from .services import default_source_name, start_run

log = logging.getLogger(__name__)

CHUNK_ROWS = 5000
DEFAULT_SNAP_TOLERANCE_M = 50.0
PROPERTY = "vehicle_count"  # the traffic catalog's count (apps/telemetry/catalog.py)
_CODE_LIMIT = 64  # Sensor.code
_SOURCE_LIMIT = 64  # Sensor.source

_UPSERT_SQL = """
INSERT INTO sensors_sensor AS s
    (source, source_id, import_run_id, tags, created_at, updated_at, code, name, kind, geom, road_segment_id, active)
SELECT %(source)s, u.loop_id, %(run)s, u.tags::jsonb, now(), now(), u.code, u.name, 'traffic',
       ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326), u.segment, true
FROM unnest(%(ids)s::text[], %(tags)s::text[], %(codes)s::text[], %(names)s::text[], %(lons)s::float8[],
            %(lats)s::float8[], %(segments)s::bigint[]) AS u(loop_id, tags, code, name, lon, lat, segment)
ON CONFLICT (source, source_id) DO UPDATE
    SET tags = EXCLUDED.tags, name = EXCLUDED.name, geom = EXCLUDED.geom, road_segment_id = EXCLUDED.road_segment_id,
        import_run_id = EXCLUDED.import_run_id, updated_at = now()
    -- a re-import of the same file changes nothing: the sensor keeps the run that last changed it
    WHERE (s.tags, s.name, s.road_segment_id, ST_AsEWKB(s.geom))
          IS DISTINCT FROM (EXCLUDED.tags, EXCLUDED.name, EXCLUDED.road_segment_id, ST_AsEWKB(EXCLUDED.geom))
RETURNING s.source_id, (xmax = 0) AS inserted
"""


def _batched(items: Iterable[CountRow], size: int) -> Iterator[tuple[CountRow, ...]]:
    """itertools.batched, which Python 3.11 lacks."""
    it = iter(items)
    while chunk := tuple(islice(it, size)):
        yield chunk


def sensor_code(source: str, loop_id: str) -> str:
    """The sensor's code (its MQTT topic level): the dataset and the loop id as a slug, e.g. Bologna's loop
    '0.127 2.10 8 1' in dataset loop_counts_2024 -> 'loop_counts_2024-0-127-2-10-8-1'."""
    return f"{_slug(source)}-{_slug(loop_id)}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-")


@dataclass
class CountsResult:
    run: ImportRun
    layout: str
    counts: dict[str, KindCounts]
    issues: list[RowIssue] = field(default_factory=list)


@dataclass
class _State:
    source: str
    run: ImportRun
    count_file: CountFile
    network: str | None
    tolerance_m: float
    received_at: datetime
    sensors: dict[str, int] = field(default_factory=dict)  # loop id -> sensor id
    unplaced: dict[str, tuple[str, str]] = field(default_factory=dict)  # loop id -> (field, reason)
    codes: dict[str, str] = field(default_factory=dict)  # code -> loop id, within this file
    seen: dict[tuple[int, datetime], tuple[int, int]] = field(default_factory=dict)  # -> (row, count)
    counts: dict[str, KindCounts] = field(
        default_factory=lambda: {"rows": KindCounts(), "sensors": KindCounts(), "readings": KindCounts()}
    )
    issues: list[RowIssue] = field(default_factory=list)

    def issue(
        self, row: int | None, loop_id: str | None, field_name: str, reason: str, action: str = "rejected"
    ) -> None:
        self.issues.append(RowIssue(self.count_file.name, "", row, loop_id, field_name, reason, action))


def _claimed(state: _State, detectors: list[Detector]) -> dict[str, str]:
    """Detectors whose sensor cannot be this import's: its code taken, or the sensor not a traffic one."""
    refused: dict[str, str] = {}
    codes = {d.loop_id: sensor_code(state.source, d.loop_id) for d in detectors}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code, source, source_id, kind FROM sensors_sensor WHERE code = ANY(%s)"
            " OR (source = %s AND source_id = ANY(%s))",
            [list(codes.values()), state.source, list(codes)],
        )
        stored = cursor.fetchall()
    by_code = {code: (source, source_id) for code, source, source_id, _ in stored}
    by_key = {source_id: kind for _, source, source_id, kind in stored if source == state.source}
    for loop_id, code in codes.items():
        other = by_code.get(code)
        if len(code) > _CODE_LIMIT:
            refused[loop_id] = f"the sensor code {code[:40]}... would be {len(code)} characters; at most {_CODE_LIMIT}"
        elif state.codes.get(code, loop_id) != loop_id:
            refused[loop_id] = f"its sensor code {code} is also detector {state.codes[code]!r}'s in this file"
        elif other is not None and other != (state.source, loop_id):
            refused[loop_id] = f"the sensor code {code} belongs to another sensor (source {other[0]}, id {other[1]})"
        elif by_key.get(loop_id, "traffic") != "traffic":
            refused[loop_id] = f"sensor {code} exists and is a {by_key[loop_id]} sensor, not a traffic one"
        else:
            state.codes[code] = loop_id
    return refused


def _add_sensors(state: _State, detectors: list[Detector]) -> None:
    """Place and upsert the chunk's new detectors."""
    counts = state.counts["sensors"]
    counts.read += len(detectors)
    refused = _claimed(state, detectors)
    columns = state.count_file.columns
    placements: dict[str, Placement] = place(
        [d for d in detectors if d.loop_id not in refused],
        network=state.network,
        tolerance_m=state.tolerance_m,
        edge_field=next((c for c in EDGE_COLUMNS if c in columns), "edge_id"),
        coordinates_field=next((c for c in (*GEOPOINT_COLUMNS, *LAT_COLUMNS) if c in columns), "geopoint"),
    )
    for loop_id, reason in refused.items():
        state.unplaced[loop_id] = ("detector", reason)
    placed = []
    for d in detectors:
        where = placements.get(d.loop_id)
        if where is None:
            continue
        if where.segment_id is None:
            state.unplaced[d.loop_id] = (where.field, where.reason)
        else:
            placed.append((d, where))
            if where.warning:  # placed, with a doubt (counts_place: an edge id against the direction)
                state.issue(d.row, d.loop_id, where.field, where.reason, "warning")
                counts.warnings += 1
    counts.rejected = len(state.unplaced)
    if not placed:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_SQL,
            {
                "source": state.source,
                "run": state.run.pk,
                "ids": [d.loop_id for d, _ in placed],
                "tags": [json.dumps(d.tags) for d, _ in placed],
                "codes": [sensor_code(state.source, d.loop_id) for d, _ in placed],
                "names": [d.name for d, _ in placed],
                "lons": [w.lon for _, w in placed],
                "lats": [w.lat for _, w in placed],
                "segments": [w.segment_id for _, w in placed],
            },
        )
        changed = cursor.fetchall()
        counts.created += sum(1 for _, inserted in changed if inserted)
        counts.updated += sum(1 for _, inserted in changed if not inserted)
        counts.unchanged += len(placed) - len(changed)
        cursor.execute(
            "SELECT source_id, id FROM sensors_sensor WHERE source = %s AND source_id = ANY(%s)",
            [state.source, [d.loop_id for d, _ in placed]],
        )
        state.sensors.update(dict(cursor.fetchall()))


def _load_chunk(state: _State, chunk: tuple[CountRow, ...]) -> None:
    fresh: dict[str, Detector] = {}
    for r in chunk:
        if r.detector.loop_id not in state.sensors and r.detector.loop_id not in state.unplaced:
            fresh.setdefault(r.detector.loop_id, r.detector)
    if fresh:
        _add_sensors(state, list(fresh.values()))
    readings = state.counts["readings"]
    batch: list[HistoricReading] = []
    origin: list[tuple[int, str, str]] = []  # (row, loop id, field) of each reading in batch
    for r in chunk:
        readings.read += len(r.counts)
        loop_id = r.detector.loop_id
        sensor_id = state.sensors.get(loop_id)
        if sensor_id is None:
            field_name, reason = state.unplaced[loop_id]
            state.issue(r.row, loop_id, field_name, reason)
            state.counts["rows"].rejected += 1
            readings.rejected += len(r.counts)
            continue
        for start, value, field_name in r.counts:
            if start > state.received_at:
                readings.rejected += 1
                state.issue(r.row, loop_id, field_name, f"{start:%Y-%m-%d %H:%M} UTC is in the future")
                continue
            key = (sensor_id, start)
            earlier = state.seen.get(key)
            if earlier is not None:
                if earlier[1] == value:
                    readings.unchanged += 1
                else:
                    readings.rejected += 1
                    state.issue(r.row, loop_id, field_name,
                                f"row {earlier[0]} already gives {earlier[1]} for {start:%Y-%m-%d %H:%M} UTC, this row {value}")  # fmt: skip
                continue
            state.seen[key] = (r.row, value)
            batch.append(HistoricReading(sensor_id, start, {PROPERTY: float(value)}))
            origin.append((r.row, loop_id, field_name))
    written = write_history(batch, received_at=state.received_at)
    readings.created += written.inserted
    readings.unchanged += written.unchanged
    readings.rejected += len(written.conflicts)
    for index, stored in written.conflicts:
        row, loop_id, field_name = origin[index]
        state.issue(row, loop_id, field_name,
                    f"already stored for {batch[index].time:%Y-%m-%d %H:%M} UTC with another count"
                    f" ({stored.get(PROPERTY, stored)}); readings are not overwritten")  # fmt: skip


def import_counts(
    *,
    path: Path,
    network: str | None = None,
    source: str | None = None,
    time_zone: str | None = None,
    tolerance_m: float = DEFAULT_SNAP_TOLERANCE_M,
    dry_run: bool = False,
    user: Any = None,
    display_name: str | None = None,
) -> CountsResult:
    """Import one count file. Raises ImportFileError (after recording the failed run where one was started)
    when the file as a whole cannot be imported; per-row problems are in the result's issues."""
    name = display_name or path.name
    zone_name = time_zone or local_time_zone()
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ImportFileError(name, f"unknown time zone {zone_name[:60]!r} (an IANA name, e.g. Europe/Rome)") from exc
    if not tolerance_m > 0:
        raise ImportFileError(name, f"the snapping tolerance must be a positive number of metres, not {tolerance_m}")
    if network is not None and network_size(network) == 0:
        raise ImportFileError(
            name, f"no road segments in network {network!r} (source {network!r}); import it first (import_sumo_network)"
        )
    dataset = source or default_source_name(path)
    if not 0 < len(dataset) <= _SOURCE_LIMIT:
        raise ImportFileError(name, f"the source name must be 1 to {_SOURCE_LIMIT} characters, not {len(dataset)}")
    count_file = open_count_file(path, name=name, zone=zone)
    run = start_run(
        path=path,
        name=name,
        dry_run=dry_run,
        user=user,
        options={
            "format": f"counts-{count_file.layout}",
            "network": network,
            "source": dataset,
            "time_zone": zone_name,
            "snap_tolerance_m": tolerance_m,
        },
    )
    state = _State(dataset, run, count_file, network, tolerance_m, timezone.now())
    try:
        with transaction.atomic():
            for chunk in _batched(rows(count_file), CHUNK_ROWS):
                state.counts["rows"].read += len(chunk)
                _load_chunk(state, chunk)
            if dry_run:
                transaction.set_rollback(True)
            elif state.counts["sensors"].created or state.counts["sensors"].updated:
                city_data_changed()
        if not dry_run:
            fold_rollups(wait=True)
    except ImportFileError as exc:
        _finish(run, state, ImportState.FAILED, f"{exc.message}; nothing was changed")
        raise
    except DataError as exc:
        # A value PostgreSQL refuses that the row checks did not catch: the file's, so its reason, not a
        # traceback; logged, since a check should have caught it.
        log.exception("import #%s of %s: data refused by the database", run.pk, name)
        message = f"a value does not fit the database ({str(exc).strip().splitlines()[0][:300]}); nothing was changed"
        _finish(run, state, ImportState.FAILED, message)
        raise ImportFileError(name, message) from exc
    except Exception as exc:
        log.exception("import #%s of %s failed", run.pk, name)
        _finish(run, state, ImportState.FAILED, f"internal error ({type(exc).__name__}); nothing was changed")
        raise
    finally:
        count_file.close()
    state.counts["rows"].read += count_file.rejected_rows
    state.counts["rows"].rejected += count_file.rejected_rows
    state.counts["readings"].read += count_file.rejected_values
    state.counts["readings"].rejected += count_file.rejected_values
    state.counts["readings"].warnings += sum(1 for i in count_file.issues if i.action == "warning")
    state.issues.extend(count_file.issues)
    state.issues.sort(key=lambda i: (i.row or 0, i.field))
    c = state.counts
    summary = (
        f"{c['rows'].read} rows, {c['rows'].rejected} rejected; sensors: {c['sensors'].created} created,"
        f" {c['sensors'].updated} updated, {c['sensors'].rejected} not placed; readings: {c['readings'].created}"
        f" stored, {c['readings'].unchanged} already stored, {c['readings'].rejected} rejected"
    )
    _finish(run, state, ImportState.SUCCEEDED, ("dry run, nothing written. " if dry_run else "") + summary)
    return CountsResult(run=run, layout=count_file.layout, counts=state.counts, issues=state.issues)


def _finish(run: ImportRun, state: _State, run_state: str, message: str) -> None:
    run.state = run_state
    run.finished_at = timezone.now()
    run.progress = 1.0
    run.counts = {k: vars(c) for k, c in state.counts.items()}
    run.errors = [i.as_dict() for i in state.issues[:MAX_STORED_ISSUES]]
    run.message = message
    run.save()
