"""Generic layers (GeoJSON, GeoPackage, Shapefile, CSV) into rows for a target.

Which target a layer feeds is --kind, else guessed from the layer's name, else from its columns. Columns
are matched by common names, case-insensitively (see ALIASES); a value that cannot be read is reported
with its row and field and left empty (or the row is rejected when the value is required)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import shapely

from apps.buildings.heights import ResolvedHeight, resolve_height
from apps.core.parsing import is_blank, parse_bool, parse_number
from apps.roads.tags import lanes_per_direction, oneway_direction, parse_maxspeed
from apps.sensors.models import SensorKind

from .exceptions import ImportFileError
from .geojson import no_cyclic_gc
from .readers import SourceLayer
from .report import PreparedRows, RowIssue
from .targets import TARGETS

ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "source_id", "osm_id", "feature_id", "objectid", "gid", "fid"),
    "name": ("name", "nimi", "label"),
    "use": ("building", "use", "usage", "type", "kind", "building_use"),
    "levels": ("building:levels", "building_levels", "levels", "floors", "storeys", "stories"),
    "height": ("height", "height_m", "h"),
    "highway": ("highway", "class", "road_class", "type", "fclass"),
    "lanes": ("lanes",),
    "maxspeed": ("maxspeed", "maxspeed_kmh", "speed", "speed_kmh", "speed_limit"),
    "oneway": ("oneway", "one_way"),
    "kind": ("kind", "type", "asset_type", "category", "class"),
    "operator": ("operator", "owner"),
    "code": ("code", "ref", "sensor_code", "device_id"),
    "admin_level": ("admin_level", "level"),
    "active": ("active", "enabled"),
}

LAYER_NAME_HINTS: list[tuple[tuple[str, ...], str]] = [
    (("sensor", "device", "station"), "sensors"),
    (("building", "footprint", "rakennus"), "buildings"),
    (("road", "street", "highway", "network", "edge", "link", "tie"), "roads"),
    (("lamp", "light", "asset", "signal", "charg", "hydrant", "utility", "power", "pipe", "substation"), "assets"),
    (
        ("district", "boundary", "boundaries", "admin", "neighbourhood", "neighborhood", "area", "zone", "alue"),
        "districts",
    ),
]


def _tag_value(value: Any) -> Any:
    """A source attribute as stored in `tags` (JSON): numbers and booleans as they are, except the
    non-finite ones JSON cannot hold; everything else as text."""
    if isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return str(value)


def _tags(names: list[str], columns: list[list[Any]], n: int) -> list[dict[str, Any]]:
    """Each row's non-blank attributes as stored in `tags`, in column order: what
    `{c: _tag_value(v) for c in names if not is_blank(v)}` gives, with the common types checked inline
    (250k is_blank calls were a tenth of a 50k-building load)."""
    tags: list[dict[str, Any]] = [{} for _ in range(n)]
    for name, values in zip(names, columns, strict=True):
        for row_tags, value in zip(tags, values, strict=True):
            if value is None:
                continue
            cls = type(value)
            if cls is str:
                if value and not value.isspace():  # str.strip() strips exactly what isspace() calls space
                    row_tags[name] = value
            elif cls is float:
                if value == value:  # not NaN
                    row_tags[name] = value if math.isfinite(value) else str(value)
            elif cls is int or cls is bool:
                row_tags[name] = value
            elif not is_blank(value):
                row_tags[name] = _tag_value(value)
    return tags


class _HeightCache:
    """resolve_height for each distinct (height, levels) pair once: a file repeats a few values over
    thousands of buildings. Keys carry the type (True == 1 == 1.0 resolve differently); NaN, which
    resolve_height reads as blank, is keyed as None."""

    def __init__(self) -> None:
        self.known: dict[tuple[Any, ...], ResolvedHeight] = {}

    def resolve(self, height: Any, levels: Any, *, height_field: str, levels_field: str) -> ResolvedHeight:
        height = None if isinstance(height, float) and math.isnan(height) else height
        levels = None if isinstance(levels, float) and math.isnan(levels) else levels
        key = (type(height), height, type(levels), levels, height_field, levels_field)
        try:
            return self.known[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value: resolved on its own
            return resolve_height(height, levels, height_field=height_field, levels_field=levels_field)
        resolved = self.known[key] = resolve_height(
            height, levels, height_field=height_field, levels_field=levels_field
        )
        return resolved


def _column(frame: pd.DataFrame, key: str) -> str | None:
    columns = {c.lower(): c for c in frame.columns}
    return next((columns[a] for a in ALIASES[key] if a in columns), None)


def guess_kind(layer: SourceLayer) -> str | None:
    lowered = layer.name.lower()
    for hints, kind in LAYER_NAME_HINTS:
        if any(h in lowered for h in hints):
            return kind
    columns = {c.lower() for c in layer.frame.columns}
    if "highway" in columns:
        return "roads"
    if "building" in columns or "building:levels" in columns:
        return "buildings"
    if "code" in columns and "kind" in columns:
        return "sensors"
    return None


def prepare_layer(layer: SourceLayer, *, kind: str | None, file_name: str) -> PreparedRows:
    with no_cyclic_gc():
        return _prepare_layer(layer, kind=kind, file_name=file_name)


def _prepare_layer(layer: SourceLayer, *, kind: str | None, file_name: str) -> PreparedRows:
    chosen = kind or guess_kind(layer)
    if chosen is None:
        raise ImportFileError(
            file_name,
            f"cannot tell what layer {layer.name!r} holds (buildings, roads, assets, districts or sensors); pass --kind",
        )
    if layer.srid is None:
        raise ImportFileError(
            file_name,
            f"layer {layer.name!r} has no coordinate reference system; pass --srid (e.g. --srid 3067 for ETRS-TM35FIN)",
        )
    frame = layer.frame
    issues: list[RowIssue] = []
    id_col = _column(frame, "code") if chosen == "sensors" else _column(frame, "id")
    cols = {key: _column(frame, key) for key in ALIASES}
    geom_name = frame.geometry.name
    geometries = frame[geom_name].array  # read once: frame.geometry per row costs ~35 µs
    extra = [c for c in frame.columns if c != geom_name]
    rows: list[dict[str, Any]] = []
    warnings_by_row: dict[int, list[tuple[str, str]]] = {}
    for warned_row, warned_field, warned_reason in layer.row_warnings:
        warnings_by_row.setdefault(warned_row, []).append((warned_field, warned_reason))

    def issue(row: int, fid: str | None, field: str, reason: str, action: str = "warning") -> None:
        issues.append(RowIssue(file_name, layer.name, row, fid, field, reason, action))

    def number(rec: dict[str, Any], key: str, row: int, fid: str) -> float | None:
        col = cols[key]
        if col is None:
            return None
        try:
            value = parse_number(rec.get(col))
        except ValueError as exc:
            issue(row, fid, col, f"{exc}; ignored")
            return None
        if value is not None and not math.isfinite(value):  # "1" followed by 400 digits parses as inf
            issue(row, fid, col, f"{str(rec.get(col))[:40]!r} is too large; ignored")
            return None
        return value

    def text(rec: dict[str, Any], key: str) -> str:
        col = cols[key]
        value = rec.get(col) if col else None
        return "" if is_blank(value) else str(value)

    # Column by column, not frame.to_dict("records"): a third of the time for 50k rows went there.
    column_values = [frame[c].tolist() for c in extra]
    records = (
        [dict(zip(extra, values, strict=True)) for values in zip(*column_values, strict=True)]
        if extra
        else [{} for _ in range(len(frame))]
    )
    all_tags = _tags(extra, column_values, len(frame))
    heights = _HeightCache()
    for row, rec, tags, geometry in zip(frame.index, records, all_tags, geometries, strict=True):
        row = int(row)
        raw_id = rec.get(id_col) if id_col else None
        fid = str(raw_id) if not is_blank(raw_id) else f"row-{row}"
        if isinstance(raw_id, float) and raw_id.is_integer():
            fid = str(int(raw_id))
        if row in layer.row_errors:
            field, reason = layer.row_errors[row]
            # A row too broken to read its id has none: --replace must not guess which stored feature it is.
            issue(row, None if row in layer.unknown_id_rows else fid, field, reason, "rejected")
            continue
        for field, reason in warnings_by_row.get(row, ()):
            issue(row, fid, field, reason)
        base: dict[str, Any] = {
            "row": row,
            "layer": layer.name,
            "source_id": fid,
            "geometry": geometry,
            "tags": tags,
        }
        if chosen == "buildings":
            height = heights.resolve(
                rec.get(cols["height"]) if cols["height"] else None,
                rec.get(cols["levels"]) if cols["levels"] else None,
                height_field=cols["height"] or "height",
                levels_field=cols["levels"] or "levels",
            )
            for field, reason in height.warnings:
                issue(row, fid, field, reason)
            base.update(
                name=text(rec, "name"),
                use=text(rec, "use") or "yes",
                levels=height.levels,
                height_m=height.height_m,
                height_source=str(height.source),
                osm_id=None,
                osm_type="",
            )
        elif chosen == "roads":
            lanes = number(rec, "lanes", row, fid)
            try:
                maxspeed = parse_maxspeed(rec.get(cols["maxspeed"])) if cols["maxspeed"] else None
            except ValueError as exc:
                maxspeed = None
                issue(row, fid, cols["maxspeed"] or "maxspeed", f"{exc}; ignored")
            highway = text(rec, "highway") or "road"
            try:
                direction = _oneway(rec.get(cols["oneway"]) if cols["oneway"] else None, highway)
            except ValueError as exc:
                direction = 0
                issue(row, fid, cols["oneway"] or "oneway", f"{exc}; taken as two-way")
            if direction == -1:  # one-way against the line's direction: the segment runs the other way
                base["geometry"] = shapely.reverse(geometry)
            base.update(
                highway=highway,
                name=text(rec, "name"),
                # A two-way road's lanes are both directions' (as OSM's lanes=*): each segment gets half.
                lanes=lanes_per_direction(lanes, oneway=direction != 0) if lanes and lanes > 0 else None,
                maxspeed_kmh=maxspeed,
                oneway=direction != 0,
                osm_way_id=None,
                from_node_key=None,
                to_node_key=None,
            )
        elif chosen == "assets":
            kind_value = text(rec, "kind")
            if not kind_value:
                issue(row, fid, cols["kind"] or "kind", "an asset needs a kind (e.g. street_lamp)", "rejected")
                continue
            base.update(
                kind=kind_value.strip().lower().replace(" ", "_"),
                name=text(rec, "name"),
                operator=text(rec, "operator"),
                osm_id=None,
                osm_type="",
            )
        elif chosen == "districts":
            level = number(rec, "admin_level", row, fid)
            base.update(
                name=text(rec, "name") or fid,
                code=text(rec, "code"),
                level="admin",
                admin_level=int(level) if level else None,
            )
        elif chosen == "sensors":
            kind_value = text(rec, "kind").strip().lower()
            if fid.startswith("row-"):
                issue(row, None, "code", "a sensor needs a code", "rejected")
                continue
            if kind_value not in SensorKind.values:
                issue(
                    row,
                    fid,
                    cols["kind"] or "kind",
                    f"kind {kind_value!r} is not one of {', '.join(SensorKind.values)}",
                    "rejected",
                )
                continue
            try:
                active = parse_bool(rec.get(cols["active"])) if cols["active"] else None
            except ValueError as exc:
                active = None
                issue(row, fid, cols["active"] or "active", f"{exc}; ignored")
            base.update(code=fid, name=text(rec, "name"), kind=kind_value, active=True if active is None else active)
        rows.append(base)
    return PreparedRows(TARGETS[chosen], layer.srid, pd.DataFrame(rows), issues, build_graph=chosen == "roads")


def _oneway(value: Any, highway: str) -> int:
    """1: one-way along the line, -1: one-way against it, 0: two-way (also when absent, except where OSM
    implies one-way: motorways). Raises ValueError for a value that says neither."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value in (1, 0, -1):
        return int(value)
    if not is_blank(value) and str(value).strip().lower() in ("-1", "reverse"):
        return -1
    try:
        flag = parse_bool(value)
    except ValueError:
        raise ValueError(f"{str(value)[:40]!r} is not yes/no/-1") from None
    return oneway_direction(None, highway) if flag is None else int(flag)
