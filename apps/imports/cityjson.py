"""CityJSON (1.0, 1.1, 2.0) and CityJSONSeq files into building rows, read in Python: GDAL never sees them.

Buildings only: each Building is one row, its BuildingParts folded into it (the union of their
footprints, the lowest and highest of their vertices), so that a building is one footprint in the city as
it is for every other format; the parts' ids are kept in the row's tags. A BuildingPart whose parent is
not in the file is loaded as a building of its own. Other city objects (roads, terrain, vegetation ...)
are counted in one warning per type. Of an object's geometries the one of the highest LoD is used.

Footprint and height come from the geometry (cityjson_geometry.py); the height is the `measuredHeight`
attribute when there is one (height_source "height"), else the highest vertex minus the lowest
("geometry"), else storeysAboveGround x 3 m or the default as for other formats. Attributes: `name`;
`function` (else `usage`) as the use; `storeysAboveGround` as the levels; all of them in tags.

The CRS is `metadata.referenceSystem`, which must name an EPSG code (an OGC URL or URN is read as text,
never fetched); a compound CRS (e.g. EPSG:7415, RD New + NAP height) or a 3D geographic one gives its
horizontal EPSG code. `transform` (scale, translate) is applied to the vertices.

A CityJSON file is parsed whole, as GeoJSON is (the upload limit bounds it); a CityJSONSeq file is read a
line at a time, each CityJSONFeature with its own vertices. A problem with one object (or one line)
rejects that object with its id and reason; only a problem with the file as a whole (not CityJSON, no or
an unknown CRS, a broken transform or vertex list) refuses the file."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from apps.buildings.heights import resolve_height
from apps.buildings.models import HeightSource

from .cityjson_geometry import BadGeometry, Shape, geometry_shape, lod_value
from .exceptions import ImportFileError
from .geojson import _EPSG_NAME, _load_json, _shown, no_cyclic_gc
from .mapping import _tag_value
from .report import PreparedRows, RowIssue
from .targets import BUILDINGS

VERSIONS = ("1.0", "1.1", "2.0")
BUILDING, PART = "Building", "BuildingPart"
MIN_GEOMETRY_HEIGHT_M = 0.01  # below this a geometry is flat (LoD0): its height says nothing


@dataclass
class _Header:
    srid: int | None
    scale: np.ndarray
    translate: np.ndarray


@dataclass
class _Collected:
    layer: str
    file_name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    issues: list[RowIssue] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)

    def reject(self, row: int | None, object_id: str | None, reason: str, field: str = "geometry") -> None:
        self.issues.append(RowIssue(self.file_name, self.layer, row, object_id, field, reason, "rejected"))


def horizontal_epsg(code: int, label: str) -> int:
    """The EPSG code of the horizontal part of a CRS given by EPSG code (itself when it is 2D)."""
    from pyproj import CRS  # an EPSG code is looked up in PROJ's local database, nothing is fetched

    try:
        crs = CRS.from_epsg(code)
    except Exception as exc:  # noqa: BLE001 - pyproj raises CRSError and friends
        raise ImportFileError(label, f"its CRS EPSG:{code} is not one PROJ knows") from exc
    if crs.is_compound:
        crs = crs.sub_crs_list[0]
    if not (crs.is_projected or crs.is_geographic):  # vertical, geocentric, engineering ...
        raise ImportFileError(label, f"its CRS EPSG:{code} has no horizontal part to place footprints with")
    if len(crs.axis_info) == 3:
        crs = crs.to_2d()
    horizontal = crs.to_epsg()
    if horizontal is None:
        raise ImportFileError(label, f"the horizontal part of EPSG:{code} has no EPSG code; reproject the file")
    return int(horizontal)


def _header(data: Any, label: str, srid_override: int | None, *, seq: bool) -> _Header:
    if not isinstance(data, dict) or data.get("type") != "CityJSON":
        found = data.get("type") if isinstance(data, dict) else type(data).__name__
        first = "its first line is" if seq else "its top level is"
        raise ImportFileError(label, f"is not CityJSON: {first} not a CityJSON object (type {_shown(found)})")
    version = str(data.get("version", ""))
    if not any(version == v or version.startswith(v + ".") for v in VERSIONS):
        raise ImportFileError(label, f"CityJSON version {_shown(version)} is not supported ({', '.join(VERSIONS)})")
    metadata = data.get("metadata")
    system = metadata.get("referenceSystem") if isinstance(metadata, dict) else None
    srid = srid_override
    if srid is None and system is not None:
        match = _EPSG_NAME.match(system.strip()) if isinstance(system, str) else None
        if match is None:
            raise ImportFileError(
                label,
                f"its metadata.referenceSystem {_shown(system)} does not name an EPSG code "
                "(e.g. https://www.opengis.net/def/crs/EPSG/0/7415); nothing is fetched. Pass --srid",
            )
        srid = horizontal_epsg(int(match.group(1)), label)
    scale, translate = np.ones(3), np.zeros(3)
    transform = data.get("transform")
    if transform is not None:
        try:
            scale = np.asarray(transform["scale"], dtype=np.float64)
            translate = np.asarray(transform["translate"], dtype=np.float64)
        except (TypeError, KeyError, ValueError):
            scale = np.empty(0)
        if scale.shape != (3,) or translate.shape != (3,) or not np.isfinite([*scale, *translate]).all():
            raise ImportFileError(label, "its transform needs a scale and a translate of three finite numbers each")
    return _Header(srid, scale, translate)


def _vertices(raw: Any, header: _Header) -> tuple[np.ndarray, np.ndarray]:
    """The real coordinates of a vertex list and each vertex's canonical number (its first duplicate's).
    Raises ValueError when the list is not [[x, y, z], ...] of finite numbers."""
    if not isinstance(raw, list):
        raise ValueError("vertices is not an array")
    if not raw:
        return np.empty((0, 3)), np.empty(0, dtype=np.int64)
    try:
        stored = np.asarray(raw)
    except ValueError:  # rows of different lengths
        stored = np.empty(0)
    if stored.ndim != 2 or stored.shape[1] != 3 or stored.dtype.kind not in "iuf":
        raise ValueError("vertices is not an array of [x, y, z] numbers")
    coords = stored.astype(np.float64) * header.scale + header.translate
    if not np.isfinite(coords).all():
        raise ValueError("a vertex has a coordinate that is not a finite number")
    _, first, inverse = np.unique(stored, axis=0, return_index=True, return_inverse=True)
    return coords, first[inverse.ravel()]


def _best_shape(obj: dict[str, Any], vertices: np.ndarray, canonical: np.ndarray) -> tuple[Shape, float] | None:
    """The shape of the object's geometry of highest LoD (None when it has no geometry)."""
    geometries = obj.get("geometry") or []
    if not isinstance(geometries, list):
        raise BadGeometry("its geometry member is not an array")
    usable = []
    for number, geometry in enumerate(geometries, start=1):
        if not isinstance(geometry, dict):
            raise BadGeometry(f"geometry {number} is not an object")
        lod = lod_value(geometry.get("lod"))
        if lod is None:
            raise BadGeometry(
                f"geometry {number} ({geometry.get('type')}) has no LoD (its lod is missing or unreadable)"
            )
        usable.append((lod, number, geometry))
    if not usable:
        return None
    lod, number, geometry = max(usable, key=lambda u: u[0])
    try:
        return geometry_shape(geometry, vertices, canonical), lod
    except BadGeometry as exc:
        raise BadGeometry(f"LoD {geometry.get('lod')} geometry: {exc}") from None


def _members(obj: dict[str, Any], key: str) -> list[str]:
    """The ids listed under `key` ("children", "parents"), ignoring anything that is not an id."""
    value = obj.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _parts(objects: dict[str, Any], obj: dict[str, Any]) -> list[str]:
    """The ids of an object's BuildingParts, theirs included (a cycle of children is followed once)."""
    found: list[str] = []
    queue = _members(obj, "children")
    while queue:
        child = queue.pop(0)
        part = objects.get(child)
        if isinstance(part, dict) and part.get("type") == PART and child not in found and part is not obj:
            found.append(child)
            queue.extend(_members(part, "children"))
    return found


def _add_objects(
    out: _Collected, objects: Any, vertices: np.ndarray, canonical: np.ndarray, row_of: dict[str, int]
) -> None:
    if not isinstance(objects, dict):
        raise BadGeometry("CityObjects is not an object")
    for object_id, obj in objects.items():
        row = row_of[object_id]
        if not isinstance(obj, dict):
            out.reject(row, object_id, f"is not a city object: {_shown(obj)}", "CityObjects")
            continue
        kind = obj.get("type")
        if kind == PART:
            parents = [objects.get(p) for p in _members(obj, "parents")]
            if any(isinstance(p, dict) and p.get("type") in (BUILDING, PART) for p in parents):
                continue  # folded into its building
        elif kind != BUILDING:
            out.skipped[str(kind)[:40]] += 1
            continue
        try:
            out.rows.append(_building_row(out, objects, object_id, obj, vertices, canonical, row))
        except BadGeometry as exc:
            out.reject(row, object_id, str(exc))


def _building_row(
    out: _Collected,
    objects: dict[str, Any],
    object_id: str,
    obj: dict[str, Any],
    vertices: np.ndarray,
    canonical: np.ndarray,
    row: int,
) -> dict[str, Any]:
    shapes: list[tuple[Shape, float]] = []
    own = _best_shape(obj, vertices, canonical)
    if own is not None:
        shapes.append(own)
    parts = _parts(objects, obj)
    for part_id in parts:
        try:
            shape = _best_shape(objects[part_id], vertices, canonical)
        except BadGeometry as exc:
            raise BadGeometry(f"its BuildingPart {part_id!r}: {exc}") from None
        if shape is not None:
            shapes.append(shape)
    if not shapes:
        raise BadGeometry("has no geometry" + (" (nor have its BuildingParts)" if parts else ""))
    # Simplified with no tolerance: drops the vertices the union leaves where faces met on a straight edge.
    union = shapes[0][0].footprint if len(shapes) == 1 else shapely.union_all([s.footprint for s, _ in shapes])
    footprint = shapely.simplify(union, 0)
    zmin, zmax = min(s.zmin for s, _ in shapes), max(s.zmax for s, _ in shapes)
    raw_attributes = obj.get("attributes")
    attributes: dict[str, Any] = raw_attributes if isinstance(raw_attributes, dict) else {}
    height = resolve_height(
        attributes.get("measuredHeight"),
        attributes.get("storeysAboveGround"),
        height_field="measuredHeight",
        levels_field="storeysAboveGround",
    )
    height_m, source = height.height_m, height.source
    if source != HeightSource.TAG and zmax - zmin >= MIN_GEOMETRY_HEIGHT_M:
        height_m, source = round(zmax - zmin, 2), HeightSource.GEOMETRY
    for field_name, reason in height.warnings:
        out.issues.append(RowIssue(out.file_name, out.layer, row, object_id, field_name, reason, "warning"))
    tags = {k: _tag_value(json.dumps(v) if isinstance(v, dict | list) else v) for k, v in attributes.items()}
    tags["cityjson:type"] = obj.get("type")
    tags["cityjson:lod"] = f"{max(lod for _, lod in shapes):g}"
    if parts:
        tags["cityjson:parts"] = ",".join(parts)
    use = attributes.get("function") or attributes.get("usage")
    return {
        "row": row,
        "layer": out.layer,
        "source_id": object_id,
        "geometry": footprint,
        "tags": tags,
        "name": _text(attributes.get("name")),
        "use": _text(use) or "yes",
        "levels": height.levels,
        "height_m": height_m,
        "height_source": str(source),
        "osm_id": None,
        "osm_type": "",
    }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def read_cityjson(path: Path, *, label: str, srid_override: int | None, seq: bool) -> PreparedRows:
    """The buildings of a CityJSON (seq=False) or CityJSONSeq file as rows for the buildings target."""
    out = _Collected(layer=path.name.split(".")[0], file_name=label)
    with no_cyclic_gc():
        header = _read_seq(path, label, srid_override, out) if seq else _read_whole(path, label, srid_override, out)
    if header.srid is None:
        raise ImportFileError(label, "has no metadata.referenceSystem; pass --srid (e.g. --srid 3067)")
    for kind, count in sorted(out.skipped.items()):
        out.issues.append(
            RowIssue(
                label,
                out.layer,
                None,
                None,
                "type",
                f"{count} {kind} object(s) skipped: only buildings load",
                "warning",
            )
        )
    frame = pd.DataFrame(out.rows, columns=None if out.rows else ["row", "layer", "source_id", "geometry", "tags"])
    return PreparedRows(BUILDINGS, header.srid, frame, out.issues)


def _read_whole(path: Path, label: str, srid_override: int | None, out: _Collected) -> _Header:
    data, text = _load_json(path, label)
    del text
    header = _header(data, label, srid_override, seq=False)
    try:
        vertices, canonical = _vertices(data.get("vertices"), header)
    except ValueError as exc:
        raise ImportFileError(label, str(exc)) from exc
    objects = data.get("CityObjects")
    if not isinstance(objects, dict):
        raise ImportFileError(label, "is not CityJSON: it has no CityObjects object")
    _add_objects(out, objects, vertices, canonical, {k: n for n, k in enumerate(objects, start=1)})
    return header


def _read_seq(path: Path, label: str, srid_override: int | None, out: _Collected) -> _Header:
    header: _Header | None = None
    with open(path, encoding="utf-8-sig", errors="strict") as lines:
        try:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except (json.JSONDecodeError, RecursionError, ValueError) as exc:
                    if header is None:
                        raise ImportFileError(label, f"is not CityJSONSeq: line {number} is not JSON") from exc
                    out.reject(number, None, f"is not JSON: {exc}", "line")
                    continue
                if header is None:
                    header = _header(data, label, srid_override, seq=True)
                    continue
                _add_feature(out, data, number, header)
        except UnicodeDecodeError as exc:
            raise ImportFileError(label, "is not UTF-8 text (CityJSONSeq must be)") from exc
    if header is None:
        raise ImportFileError(label, "is empty")
    return header


def _add_feature(out: _Collected, data: Any, number: int, header: _Header) -> None:
    feature_id = data.get("id") if isinstance(data, dict) else None
    shown_id = feature_id if isinstance(feature_id, str) else None
    if not isinstance(data, dict) or data.get("type") != "CityJSONFeature":
        out.reject(number, shown_id, "is not a CityJSONFeature", "line")
        return
    try:
        vertices, canonical = _vertices(data.get("vertices"), header)
        objects = data.get("CityObjects")
        if not isinstance(objects, dict):
            raise ValueError("it has no CityObjects object")
    except ValueError as exc:
        out.reject(number, shown_id, str(exc), "line")
        return
    try:
        _add_objects(out, objects, vertices, canonical, dict.fromkeys(objects, number))
    except BadGeometry as exc:
        out.reject(number, shown_id, str(exc), "line")
