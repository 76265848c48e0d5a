"""Loading one batch of prepared rows, inside an import's transaction: stage them with COPY, check and
repair their geometry in PostGIS, build the road graph of file roads (road_graph.py), upsert on the
natural key, and apply --replace. Also the district grid OSM extracts without boundaries get."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import shapely
import ujson
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from psycopg.types.json import Jsonb

from apps.core.geo import DEFAULT_METRIC_SRID, srid_bounds

from . import sql
from .geojson import no_cyclic_gc
from .models import ImportRun
from .report import KindCounts, PreparedRows, RowIssue
from .road_graph import REPLACE_NODES_SQL, REPLACE_SQL, build_road_graph, split_ids
from .targets import ROAD_NODES, Target

COPY_CHUNK_ROWS = 20000
GRID_CELL_M = 500
SENSOR_LINK_DISTANCE_M = 30.0
GRID_SOURCE_SUFFIX = "-grid"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _tags_json(tags: Any) -> str:
    """A row's tags as JSON text. ujson (4x json's speed: a tenth of staging 50k rows) writes what json
    does, NUL as \\u0000 included, which jsonb cannot hold; json stays the fallback for what ujson refuses."""
    try:
        text: str = ujson.dumps(tags, default=_json_default, escape_forward_slashes=False)
    except (TypeError, OverflowError, ValueError):
        text = json.dumps(tags, default=_json_default)
    return text.replace("\\u0000", "")


# Binary COPY sends each value in its type's binary form; the geometry goes as plain WKB, which PostGIS'
# geometry receive function reads directly (check_sql gives it the rows' SRID).
_BINARY_TYPES = {"integer": "int4", "bigint": "int8", "double precision": "float8", "boolean": "bool", "text": "text"}


def _text_values(values: pd.Series) -> list[str | None]:
    # PostgreSQL text cannot hold NUL; the CSV path before this stripped it too.
    items = values.tolist()
    if set(map(type, items)) <= {str}:  # the usual column: all text, checked at C speed
        return items if "\x00" not in "".join(items) else [v.replace("\x00", "") for v in items]
    return [
        None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else str(v).replace("\x00", "")
        for v in items
    ]


def _column_values(values: pd.Series, sql_type: str) -> list[Any]:
    """A staged column as plain Python values of its SQL type, None for a missing one."""
    if sql_type in ("integer", "bigint"):
        numbers = pd.to_numeric(values, errors="coerce").round()
        return [None if math.isnan(v) else int(v) for v in numbers.astype("float64").tolist()]
    if sql_type == "double precision":
        floats = pd.to_numeric(values, errors="coerce").astype("float64")
        return [None if math.isnan(v) else v for v in floats.tolist()]
    if sql_type == "boolean":
        return [
            None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else bool(v)
            for v in values.tolist()
        ]
    return _text_values(values)


def _copy_rows(cursor: Any, rows: PreparedRows, progress: Callable[[int], None]) -> None:
    """Stream the rows into the staging table with a binary COPY, in chunks (one progress report each)."""
    with no_cyclic_gc():  # a tuple and a Jsonb per row
        _copy(cursor, rows, progress)


def _copy(cursor: Any, rows: PreparedRows, progress: Callable[[int], None]) -> None:
    frame = rows.frame
    target = rows.target
    n = len(frame)
    columns: list[list[Any]] = [
        [None if pd.isna(v) else int(v) for v in frame["row"].tolist()],
        _text_values(frame["layer"]),
        _text_values(frame["source_id"]),
        shapely.to_wkb(np.asarray(frame["geometry"], dtype=object)).tolist(),
        [Jsonb(t or {}, dumps=_tags_json) for t in frame["tags"]],
    ]
    types = ["int4", "text", "text", "bytea", "jsonb"]
    for col in target.columns:
        values = (
            frame[col.name] if col.name in frame.columns else pd.Series([None] * n, index=frame.index, dtype=object)
        )
        columns.append(_column_values(values, col.sql_type))
        types.append(_BINARY_TYPES[col.sql_type])
    records = list(zip(*columns, strict=True))
    with cursor.copy(sql.copy_sql(target)) as copy:
        copy.set_types(types)
        for start in range(0, n, COPY_CHUNK_ROWS):
            for record in records[start : start + COPY_CHUNK_ROWS]:
                copy.write_row(record)
            progress(min(start + COPY_CHUNK_ROWS, n))


def load_rows(
    rows: PreparedRows,
    *,
    source: str,
    run: ImportRun,
    file_name: str,
    replace: bool,
    copied: Callable[[int], None] = lambda done: None,
) -> tuple[dict[str, KindCounts], list[RowIssue]]:
    """Stage, check and upsert one batch of rows for one target (and the road nodes of a batch of roads
    that are only lines). Must run inside the import's transaction. Returns counts per kind."""
    target: Target = rows.target
    issues = list(rows.issues)
    counts = KindCounts()
    counts.rejected = sum(1 for i in issues if i.action == "rejected")
    counts.read = len(rows.frame) + counts.rejected  # rows rejected while reading never reach the frame
    counts.warnings = sum(1 for i in issues if i.action == "warning")
    by_kind: dict[str, KindCounts] = {}
    if rows.frame.empty and not replace:
        return {target.kind: counts}, issues
    bounds = srid_bounds(rows.srid) or (-1e12, -1e12, 1e12, 1e12)
    raw = connection.connection  # psycopg 3: COPY needs the driver's cursor
    with connection.cursor() as cursor:
        cursor.execute(sql.create_stage_sql(target))
        if not rows.frame.empty:
            with raw.cursor() as pg_cursor:
                _copy_rows(pg_cursor, rows, copied)
        cursor.execute(
            sql.check_sql(target),
            {"srid": rows.srid, "xmin": bounds[0], "ymin": bounds[1], "xmax": bounds[2], "ymax": bounds[3]},
        )
        if target.kind == "roads":
            # Temporary tables are never auto-analysed: without statistics the planner takes the checked rows
            # for a handful and joins each to the road nodes by a scan (95 s instead of 2 for 89k segments).
            # Other kinds' upserts join nothing, so they skip it (0.5 s for 50k buildings).
            cursor.execute(f"ANALYZE {sql.CHECKED}")
        cursor.execute(sql.issues_sql())
        for row, layer, source_id, problem, invalid_reason in cursor.fetchall():
            if problem is not None:
                issues.append(RowIssue(file_name, layer, row, source_id, "geometry", problem, "rejected"))
                counts.rejected += 1
            else:
                issues.append(
                    RowIssue(file_name, layer, row, source_id, "geometry", f"repaired: {invalid_reason}", "repaired")
                )
                counts.repaired += 1
        if rows.build_graph:
            by_kind[ROAD_NODES.kind], graph_issues = build_road_graph(
                cursor, source=source, run=run.pk, file_name=file_name
            )
            issues.extend(graph_issues)
            counts.rejected += len(graph_issues)
        created, updated, eligible = _upsert(cursor, target, {"source": source, "run": run.pk, "node_source": source})
        counts.created, counts.updated = created, updated
        counts.unchanged = eligible - created - updated
        if replace:
            counts.deleted, skipped = _replace(cursor, rows, source=source, file_name=file_name)
            if skipped is not None:
                issues.append(skipped)
                counts.warnings += 1
            elif rows.build_graph:
                cursor.execute(REPLACE_NODES_SQL, {"source": source})
                by_kind.setdefault(ROAD_NODES.kind, KindCounts()).deleted = cursor.rowcount
        if target.kind == "sensors":
            cursor.execute(sql.LINK_SENSORS_SQL, {"run": run.pk, "max_distance_m": SENSOR_LINK_DISTANCE_M})
    by_kind[target.kind] = counts
    return by_kind, issues


def _upsert(cursor: Any, target: Target, params: dict[str, Any]) -> tuple[int, int, int]:
    """Store the checked rows: (created, updated, eligible). A source with nothing stored yet gets a plain
    INSERT (sql.upsert_sql's `plain`) in a savepoint; should a concurrent load have stored some of the same
    keys meanwhile, the savepoint is rolled back and the rows are upserted as always."""
    if target.conflict == ("source", "source_id"):
        cursor.execute(sql.new_source_sql(target), params)
        if cursor.fetchone()[0]:
            try:
                with transaction.atomic():
                    cursor.execute(sql.upsert_sql(target, plain=True), params)
                    return cursor.rowcount, 0, cursor.rowcount
            except IntegrityError:
                pass
    cursor.execute(sql.upsert_sql(target), params)
    created, updated, eligible = cursor.fetchone()
    return created, updated, eligible


def _replace(cursor: Any, rows: PreparedRows, *, source: str, file_name: str) -> tuple[int, RowIssue | None]:
    """--replace: delete this source's stored features the file no longer has. A row the file has is
    never deleted, valid or not: rows rejected in PostGIS are in the staging table, and the ids of rows
    rejected before it (while reading or mapping) are passed along. When such a row's id could not be
    read, which stored feature it is cannot be known, so nothing is deleted and the report says why.
    Returns (deleted, the warning when skipped)."""
    rejected = [i for i in rows.issues if i.action == "rejected"]
    unknown = next((i for i in rejected if not i.feature_id), None)
    if unknown is not None:
        where = f"row {unknown.row}" if unknown.row is not None else "a row"
        return 0, RowIssue(
            file_name,
            unknown.layer,
            None,
            None,
            "--replace",
            f"not applied, nothing was deleted: {where} was rejected and its id cannot be read, so which "
            "stored feature it is cannot be known. Fix that row, or load without --replace",
            "warning",
        )
    kept = sorted({str(i.feature_id) for i in rejected})
    if rows.build_graph:
        cursor.execute(REPLACE_SQL, {"source": source, "kept": split_ids(kept)})
        return cursor.rowcount, None
    cursor.execute(sql.replace_sql(rows.target), {"source": source, "kept": kept})
    return cursor.rowcount, None


def grid_districts(*, source: str, run: ImportRun) -> KindCounts:
    metric_srid = getattr(settings, "CITYTWIN_METRIC_SRID", DEFAULT_METRIC_SRID)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.GRID_DISTRICTS_SQL,
            {
                "source": source,
                "grid_source": f"{source}{GRID_SOURCE_SUFFIX}",
                "run": run.pk,
                "metric_srid": metric_srid,
                "cell_m": GRID_CELL_M,
            },
        )
        created, updated, total = cursor.fetchone()
    return KindCounts(read=total, created=created, updated=updated, unchanged=total - created - updated)
