"""The GeoJSON reader's fast path (geojson.py) for the geometries big files are made of: LineStrings,
Polygons and MultiPolygons. Their positions are turned into one array for the whole file and checked
at once (numbers, finite, rings of at least 4 positions and closed, lines of 0 or 2+ positions)
instead of one numpy call per ring (two thirds of reading a 50k-building file went there).

This path only decides which features are certainly well-formed. A feature it has any doubt about is
handed back, and geojson.py parses it one by one with its own checks, which give the row's reason; if
the positions cannot be converted as a whole (a malformed position anywhere), all of them are."""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np
import shapely

LINESTRING = shapely.GeometryType.LINESTRING
POLYGON = shapely.GeometryType.POLYGON
MULTIPOLYGON = shapely.GeometryType.MULTIPOLYGON
BULK_KINDS = {"LineString": LINESTRING, "Polygon": POLYGON, "MultiPolygon": MULTIPOLYGON}
# Past this a coordinate may have been a Python int numpy could not hold; one by one such a ring is refused.
_INT_LIMIT = 2.0**63


def nested_lists(kind: shapely.GeometryType, coords: Any) -> bool:
    """Whether `coords` has the nesting of lists `kind` needs above its positions (checked cheaply here;
    the positions themselves are checked in bulk)."""
    if not isinstance(coords, list):
        return False
    if kind == LINESTRING:
        return True
    if kind == POLYGON:
        return all(isinstance(ring, list) for ring in coords)
    return all(isinstance(poly, list) and all(isinstance(ring, list) for ring in poly) for poly in coords)


def _owner(counts: list[int], owners: np.ndarray) -> np.ndarray:
    return np.repeat(owners, np.asarray(counts, dtype=np.int64))


def _offsets(counts: Any) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(np.asarray(counts, dtype=np.int64))))


def build(kind: shapely.GeometryType, items: list[Any]) -> tuple[np.ndarray, list[int]] | None:
    """Geometries of `kind` from each item's coordinates. Returns (geometries, with None for the doubtful
    items; the positions in `items` of the doubtful ones), or None when the positions cannot be converted
    as a whole."""
    n = len(items)
    items_index = np.arange(n)
    if kind == LINESTRING:
        parts, owner, levels = items, items_index, []
    elif kind == POLYGON:
        rings_per = [len(p) for p in items]
        parts, owner, levels = list(chain.from_iterable(items)), _owner(rings_per, items_index), [rings_per]
    else:
        polys_per = [len(m) for m in items]
        polys = list(chain.from_iterable(items))
        rings_per = [len(p) for p in polys]
        parts = list(chain.from_iterable(polys))
        owner = _owner(rings_per, _owner(polys_per, items_index))
        levels = [rings_per, polys_per]
    flat = list(chain.from_iterable(parts))
    if not flat:
        return None
    try:
        arr = np.asarray(flat)
    except (ValueError, TypeError):  # positions of different lengths, or not lists
        return None
    if arr.ndim != 2 or arr.shape[1] < 2 or arr.dtype.kind not in "fiu":
        return None
    xy = np.ascontiguousarray(arr[:, :2], dtype=np.float64)
    sizes = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    coord_offsets = _offsets(sizes)
    part_of_coord = np.repeat(np.arange(len(parts)), sizes)
    doubtful = np.zeros(len(parts), dtype=bool)
    # Not finite; or a value a Python int may have been; or 0/1, which a JSON true/false becomes in one array
    # with numbers (one ring of booleans alone is refused): such positions are checked one by one.
    suspect: np.ndarray = np.asarray(~np.isfinite(xy).all(axis=1) | (np.abs(xy) >= _INT_LIMIT).any(axis=1))
    zero_one = ((arr == 0) | (arr == 1)).any(axis=1)
    for i in np.flatnonzero(zero_one):
        if any(type(v) is bool for v in flat[i]):
            suspect[i] = True
    doubtful[part_of_coord[suspect]] = True
    if kind == LINESTRING:
        doubtful |= sizes == 1
    else:
        doubtful |= sizes < 4
        full = np.flatnonzero(sizes >= 4)
        first, last = xy[coord_offsets[full]], xy[coord_offsets[full + 1] - 1]
        doubtful[full[(first != last).any(axis=1)]] = True
    flagged = np.unique(owner[doubtful]).tolist()
    result = np.full(n, None, dtype=object)
    if not flagged:
        offsets = (coord_offsets, *(_offsets(counts) for counts in levels))
        result[:] = shapely.from_ragged_array(kind, xy, offsets)
        return result, []
    keep = np.setdiff1d(items_index, flagged)
    if not len(keep):
        return result, flagged
    again = build(kind, [items[i] for i in keep])
    if again is None or again[1]:  # cannot happen once the doubtful are out; then one by one for all
        return None
    result[keep] = again[0]
    return result, flagged
