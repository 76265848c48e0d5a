"""GeoJSON geometries for the reader (geojson.py): each feature's geometry checked (an unclosed ring, a
NaN coordinate, too few points, wrong nesting: the reason, for its row) and all of them built in a few
vectorised shapely calls. LineStrings, Polygons and MultiPolygons are checked in bulk first
(geojson_bulk.py); what that path doubts, and every other type, is checked here one feature at a time."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import shapely

from .geojson_bulk import BULK_KINDS, nested_lists
from .geojson_bulk import build as bulk_build

GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
MAX_SHOWN = 80


class _BadGeometry(ValueError):
    """A geometry that cannot be built; the message says why."""


def _shown(value: Any) -> str:
    """A value from the file, short, for a message: strings quoted, anything else as JSON."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = text[:MAX_SHOWN] + ("..." if len(text) > MAX_SHOWN else "")
    return repr(text) if isinstance(value, str) else text


def _positions(value: Any, what: str) -> np.ndarray:
    """An array of positions as an (n, 2) float array; raises _BadGeometry."""
    if not isinstance(value, list):
        raise _BadGeometry(f"{what} is not an array of positions")
    if not value:
        return np.empty((0, 2))
    try:
        arr = np.asarray(value)
    except ValueError:  # positions of different lengths ([x, y] and [x, y, z]): check each
        if not all(isinstance(p, list) and len(p) >= 2 for p in value):
            raise _BadGeometry(f"{what} has a position that is not [x, y]") from None
        try:
            arr = np.asarray([p[:2] for p in value])
        except ValueError:
            raise _BadGeometry(f"{what} has a position that is not [x, y]") from None
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise _BadGeometry(f"{what} has a position that is not [x, y]")
    if arr.dtype != np.float64:
        if arr.dtype.kind not in "iu":  # strings, booleans, nulls, numbers too big for a float
            raise _BadGeometry(f"{what} has a coordinate that is not a number")
        arr = arr.astype(np.float64)
    xy = arr if arr.shape[1] == 2 else arr[:, :2]
    # One sum instead of an isfinite pass: NaN and infinity carry through it (the check is per ring,
    # 55,000 rings in a 50,000-building file); an overflowing sum of finite values is checked again.
    if not math.isfinite(xy.sum()) and not np.isfinite(xy).all():
        raise _BadGeometry(f"{what} has a coordinate that is not a finite number (NaN or infinity)")
    return xy


def _ring(value: Any, what: str) -> np.ndarray:
    xy = _positions(value, what)
    if len(xy) < 4:
        raise _BadGeometry(f"{what} has {len(xy)} positions; a ring needs at least 4")
    if xy[0, 0] != xy[-1, 0] or xy[0, 1] != xy[-1, 1]:
        raise _BadGeometry(f"{what} is not closed (its last position differs from its first)")
    return xy


def _line(value: Any, what: str) -> np.ndarray:
    xy = _positions(value, what)
    if len(xy) == 1:
        raise _BadGeometry(f"{what} has 1 position; a line needs at least 2")
    return xy


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _BadGeometry(f"{what} is not an array")
    return value


class _Ragged:
    """Coordinates and offsets of one geometry type, for shapely.from_ragged_array."""

    def __init__(self, depth: int) -> None:
        self.rows: list[int] = []
        self.coords: list[np.ndarray] = []
        self.offsets: list[list[int]] = [[0] for _ in range(depth)]  # innermost level first
        self.n_coords = 0

    def add_parts(self, row: int, parts: list[Any]) -> None:
        """`parts`: for depth 1 an (n, 2) array; depth 2 a list of arrays; depth 3 a list of lists."""
        self.rows.append(row)
        self._add(parts, len(self.offsets) - 1)

    def _add(self, part: Any, level: int) -> None:
        if level == 0:
            self.coords.append(part)
            self.n_coords += len(part)
            self.offsets[0].append(self.n_coords)
            return
        for child in part:
            self._add(child, level - 1)
        self.offsets[level].append(len(self.offsets[level - 1]) - 1)

    def build(self, kind: shapely.GeometryType) -> np.ndarray:
        coords = np.concatenate(self.coords) if self.coords else np.empty((0, 2))
        offsets = tuple(np.asarray(o, dtype=np.int64) for o in self.offsets)
        return shapely.from_ragged_array(kind, coords, offsets)


class _GeometryBuilder:
    """Validates each feature's geometry, then builds all of them in a few vectorised calls. LineStrings,
    Polygons and MultiPolygons are checked in bulk first (geojson_bulk.py); the features that fail there,
    and all others, one by one. `errors` holds why a feature was refused (by its index) once built."""

    def __init__(self, n: int, *, bulk: bool = True) -> None:
        self.bulk = bulk
        self.pending: dict[shapely.GeometryType, list[tuple[int, Any]]] = {}
        self.errors: dict[int, str] = {}
        self.result = np.full(n, None, dtype=object)
        self.points: list[tuple[int, np.ndarray]] = []
        self.ragged = {
            shapely.GeometryType.MULTIPOINT: _Ragged(1),
            shapely.GeometryType.LINESTRING: _Ragged(1),
            shapely.GeometryType.MULTILINESTRING: _Ragged(2),
            shapely.GeometryType.POLYGON: _Ragged(2),
            shapely.GeometryType.MULTIPOLYGON: _Ragged(3),
        }

    def add(self, index: int, geom: Any) -> None:
        """Take one feature's geometry; raises _BadGeometry (or GEOS's errors) for one refused at once."""
        if self.bulk and isinstance(geom, dict) and isinstance(kind_name := geom.get("type"), str):
            bulk_kind = BULK_KINDS.get(kind_name)
            if bulk_kind is not None and nested_lists(bulk_kind, geom.get("coordinates")):
                self.pending.setdefault(bulk_kind, []).append((index, geom["coordinates"]))
                return
        self._add_one(index, geom)

    def _add_one(self, index: int, geom: Any) -> None:
        kind, parts = _parse(geom)
        if kind == shapely.GeometryType.POINT:
            self.points.append((index, parts))
        elif kind == shapely.GeometryType.GEOMETRYCOLLECTION:
            self.result[index] = parts
        else:
            self.ragged[kind].add_parts(index, parts)

    def build(self) -> np.ndarray:
        for kind, pending in self.pending.items():
            built = bulk_build(kind, [coords for _, coords in pending])
            if built is None:
                one_by_one: list[int] = list(range(len(pending)))
            else:
                self.result[[index for index, _ in pending]] = built[0]
                one_by_one = built[1]
            type_name = next(name for name, k in BULK_KINDS.items() if k == kind)
            for k in one_by_one:
                index, coords = pending[k]
                try:
                    self._add_one(index, {"type": type_name, "coordinates": coords})
                except _BadGeometry as exc:
                    self.errors[index] = str(exc)
                except (shapely.errors.GEOSException, ValueError, RecursionError) as exc:
                    self.errors[index] = f"cannot be built: {exc}"
        if self.points:
            rows = [i for i, _ in self.points]
            xy = [p for _, p in self.points]
            empty = np.array([len(p) == 0 for p in xy])
            coords = np.array([p[0] if len(p) else (np.nan, np.nan) for p in xy], dtype=float)
            built = shapely.points(coords)
            built[empty] = shapely.from_wkt("POINT EMPTY")
            self.result[rows] = built
        for kind, ragged in self.ragged.items():
            if ragged.rows:
                self.result[ragged.rows] = ragged.build(kind)
        return self.result


def _parse(geom: Any) -> tuple[shapely.GeometryType, Any]:
    if not isinstance(geom, dict):
        raise _BadGeometry(f"geometry is not an object: {_shown(geom)}")
    kind = geom.get("type")
    if kind == "GeometryCollection":
        members = _list(geom.get("geometries"), "GeometryCollection.geometries")
        return shapely.GeometryType.GEOMETRYCOLLECTION, shapely.geometrycollections([_single(m) for m in members])
    if kind not in GEOMETRY_TYPES:
        raise _BadGeometry(f"unknown geometry type {_shown(kind)}")
    coords = geom.get("coordinates")
    if kind == "Point":
        xy = _positions([coords] if coords != [] else [], "Point.coordinates")
        return shapely.GeometryType.POINT, xy
    if kind == "MultiPoint":
        return shapely.GeometryType.MULTIPOINT, _positions(coords, "MultiPoint.coordinates")
    if kind == "LineString":
        return shapely.GeometryType.LINESTRING, _line(coords, "LineString.coordinates")
    if kind == "MultiLineString":
        lines = _list(coords, "MultiLineString.coordinates")
        return shapely.GeometryType.MULTILINESTRING, [_line(c, f"line {i + 1}") for i, c in enumerate(lines)]
    if kind == "Polygon":
        rings = _list(coords, "Polygon.coordinates")
        return shapely.GeometryType.POLYGON, [_ring(r, f"ring {i + 1}") for i, r in enumerate(rings)]
    polygons = _list(coords, "MultiPolygon.coordinates")
    return shapely.GeometryType.MULTIPOLYGON, [
        [_ring(r, f"polygon {p + 1} ring {i + 1}") for i, r in enumerate(_list(poly, f"polygon {p + 1}"))]
        for p, poly in enumerate(polygons)
    ]


def _single(geom: Any) -> shapely.Geometry:
    """One geometry built on its own (members of a GeometryCollection: rare, so not vectorised)."""
    builder = _GeometryBuilder(1, bulk=False)  # so that a refused member raises here
    builder.add(0, geom)
    built = builder.build()[0]
    assert built is not None  # add() either stored a geometry or raised
    return built
