"""CityJSON geometry of one object checked and seen from above: its footprint and its vertical extent.

A CityJSON geometry (MultiSurface, CompositeSurface, Solid, MultiSolid, CompositeSolid) is nested lists of
vertex indices: solids hold shells, shells hold surfaces, surfaces hold rings (the first the exterior).
The nesting is walked in Python (it is JSON lists: one step per ring); everything per vertex is numpy
over the object's flat index array: indices in range, at least 3 distinct vertices per ring, every
shell closed (each edge shared by exactly two of its surfaces), each surface's normal (Newell's method).

The footprint is the union of the surfaces' projections onto the ground, leaving out vertical surfaces
(walls project to nothing) and so covering ground, roofs and overhangs alike: for a Solid it is the
solid's outline seen from above, for a MultiSurface the same of whatever surfaces it has. A surface whose
projection crosses itself rejects the object, as does any other broken part: a broken solid is not
repaired by guessing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import shapely

SURFACE_TYPES = ("MultiSurface", "CompositeSurface")
SOLID_TYPES = ("Solid",)
MULTI_SOLID_TYPES = ("MultiSolid", "CompositeSolid")
SUPPORTED_TYPES = (*SURFACE_TYPES, *SOLID_TYPES, *MULTI_SOLID_TYPES)
# cos of the angle between a surface's normal and the vertical under which it counts as a wall: ~89.4°.
VERTICAL_COS = 0.01


class BadGeometry(ValueError):
    """A geometry that cannot be used; the message says why, for the per-object report."""


@dataclass
class Shape:
    footprint: shapely.Geometry  # 2D Polygon or MultiPolygon, in the file's CRS
    zmin: float
    zmax: float


@dataclass
class _Rings:
    rings: list[Any]  # each a list of vertex indices (not closed: CityJSON does not repeat the first)
    ring_surface: list[int]  # ring -> surface number (0-based, in file order)
    surface_shell: list[int]  # surface -> shell number, -1 for surfaces not in a solid


def _as_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadGeometry(f"{what} is not an array")
    return value


def _walk(kind: str, boundaries: Any) -> _Rings:
    out = _Rings([], [], [])
    shells: list[tuple[int, Any]]
    if kind in SURFACE_TYPES:
        shells = [(-1, boundaries)]
    elif kind in SOLID_TYPES:
        shells = list(enumerate(_as_list(boundaries, "the Solid's boundaries")))
    else:
        solids = _as_list(boundaries, f"the {kind}'s boundaries")
        shells = list(enumerate(shell for solid in solids for shell in _as_list(solid, "a solid")))
    for shell_no, surfaces in shells:
        what = "the surfaces" if shell_no < 0 else f"shell {shell_no + 1}"
        if not _as_list(surfaces, what):
            raise BadGeometry(f"{what} has no surface")
        for surface in surfaces:
            number = len(out.surface_shell) + 1
            if not _as_list(surface, f"surface {number}"):
                raise BadGeometry(f"surface {number} has no ring")
            for ring in surface:
                out.rings.append(_as_list(ring, f"a ring of surface {number}"))
                out.ring_surface.append(number - 1)
            out.surface_shell.append(shell_no)
    return out


def geometry_shape(geometry: dict[str, Any], vertices: np.ndarray, canonical: np.ndarray) -> Shape:
    """The footprint and vertical extent of one CityJSON geometry. `vertices`: the (n, 3) real coordinates
    of the file (or CityJSONSeq feature); `canonical`: for each vertex, the number of its first duplicate
    (vertices at the same place are one vertex for the closed-shell test). Raises BadGeometry."""
    kind = geometry.get("type")
    if kind not in SUPPORTED_TYPES:
        raise BadGeometry(f"geometry type {str(kind)[:40]!r} is not supported ({', '.join(SUPPORTED_TYPES)})")
    walked = _walk(str(kind), geometry.get("boundaries"))
    lengths = np.fromiter(map(len, walked.rings), dtype=np.int64, count=len(walked.rings))
    try:
        index = np.asarray(list(chain.from_iterable(walked.rings)))
    except ValueError:  # a ring holding arrays of different lengths
        index = np.asarray([], dtype=object)
    if not len(index):
        raise BadGeometry("its rings hold no vertex")
    if index.dtype.kind not in "iu" or index.ndim != 1:
        raise BadGeometry("a ring holds something that is not a vertex index (a whole number)")
    index = index.astype(np.int64)
    out_of_range = (index < 0) | (index >= len(vertices))
    if out_of_range.any():
        bad = int(index[np.argmax(out_of_range)])
        raise BadGeometry(f"vertex index {bad} is out of range (the file has {len(vertices)} vertices)")
    ring_of = np.repeat(np.arange(len(lengths)), lengths)
    _check_distinct(canonical[index], ring_of, lengths, walked.ring_surface)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    following = np.arange(len(index)) + 1  # the position of each vertex's successor in its ring
    following[starts + lengths - 1] = starts
    surface_shell = np.asarray(walked.surface_shell, dtype=np.int64)
    ring_surface = np.asarray(walked.ring_surface, dtype=np.int64)
    if (surface_shell >= 0).any():
        _check_closed(canonical[index], following, surface_shell[ring_surface][ring_of], len(vertices))
    points = vertices[index]
    footprint = _footprint(points, following, ring_of, lengths, ring_surface, len(surface_shell))
    return Shape(footprint, float(points[:, 2].min()), float(points[:, 2].max()))


def _check_distinct(ids: np.ndarray, ring_of: np.ndarray, lengths: np.ndarray, ring_surface: Sequence[int]) -> None:
    order = np.lexsort((ids, ring_of))
    sorted_ids, sorted_rings = ids[order], ring_of[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (sorted_ids[1:] != sorted_ids[:-1]) | (sorted_rings[1:] != sorted_rings[:-1])
    distinct = np.bincount(sorted_rings[first], minlength=len(lengths))
    few = np.flatnonzero(distinct < 3)
    if len(few):
        ring = int(few[0])
        raise BadGeometry(
            f"surface {ring_surface[ring] + 1} has a ring of {int(distinct[ring])} distinct vertices; at least 3 are needed"
        )


def _check_closed(ids: np.ndarray, following: np.ndarray, shell_of: np.ndarray, n_vertices: int) -> None:
    """Every edge of a closed shell is shared by exactly two of its surfaces (once each way, when it is
    oriented consistently; the direction is not checked here)."""
    a, b = ids, ids[following]
    keep = (shell_of >= 0) & (a != b)
    # One integer per (shell, undirected edge): np.unique on it is far cheaper than on rows.
    n = np.int64(max(n_vertices, 1))
    keys = (shell_of[keep] * n + np.minimum(a, b)[keep]) * n + np.maximum(a, b)[keep]
    unique, counts = np.unique(keys, return_counts=True)
    wrong = counts != 2
    if wrong.any():
        shells = unique // (n * n)
        shell = int(shells[np.argmax(wrong)])
        open_edges = int((counts[shells == shell] == 1).sum())
        many = int((counts[shells == shell] > 2).sum())
        problem = f"{open_edges} edges belong to one surface only" if open_edges else f"{many} edges to 3 or more"
        raise BadGeometry(f"shell {shell + 1} of the solid is not closed: {problem}")


def _footprint(
    points: np.ndarray,
    following: np.ndarray,
    ring_of: np.ndarray,
    lengths: np.ndarray,
    ring_surface: np.ndarray,
    n_surfaces: int,
) -> shapely.Geometry:
    local = points - points.min(axis=0)  # small numbers for the normals' products
    here, there = local, local[following]
    # Newell's method: the normal of each ring (twice its area vector), summed edge by edge per ring.
    x0, y0, z0 = here[:, 0], here[:, 1], here[:, 2]
    x1, y1, z1 = there[:, 0], there[:, 1], there[:, 2]
    rings = len(lengths)
    normals = np.column_stack(
        [
            np.bincount(ring_of, (y0 - y1) * (z0 + z1), minlength=rings),
            np.bincount(ring_of, (z0 - z1) * (x0 + x1), minlength=rings),
            np.bincount(ring_of, (x0 - x1) * (y0 + y1), minlength=rings),
        ]
    )
    exterior = np.searchsorted(ring_surface, np.arange(n_surfaces))  # each surface's first ring
    normal = normals[exterior]
    size = np.linalg.norm(normal, axis=1)
    if (size <= 1e-12).any():
        number = int(np.argmax(size <= 1e-12)) + 1
        raise BadGeometry(f"surface {number} has no area (its vertices lie on one line)")
    seen = np.abs(normal[:, 2]) > VERTICAL_COS * size
    if not seen.any():
        raise BadGeometry("every surface is vertical: there is no footprint to see from above")
    # Closed 2D rings for shapely: each ring's vertices, then its first again.
    closed_lengths = lengths + 1
    ring_offsets = np.concatenate([[0], np.cumsum(closed_lengths)])
    ring_closed = np.repeat(np.arange(len(lengths)), closed_lengths)
    position = np.arange(ring_offsets[-1]) - ring_offsets[ring_closed]
    position[position == lengths[ring_closed]] = 0
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    xy = points[starts[ring_closed] + position, :2]
    surface_offsets = np.concatenate([[0], np.cumsum(np.bincount(ring_surface, minlength=n_surfaces))])
    polygons = shapely.from_ragged_array(shapely.GeometryType.POLYGON, xy, (ring_offsets, surface_offsets))[seen]
    valid = shapely.is_valid(polygons)
    if not valid.all():
        number = int(np.flatnonzero(seen)[np.argmax(~valid)]) + 1
        reason = shapely.is_valid_reason(polygons[np.argmax(~valid)])
        raise BadGeometry(f"surface {number} crosses itself seen from above ({reason})")
    return shapely.union_all(polygons)


def lod_value(lod: Any) -> float | None:
    """A geometry's level of detail as a number ("2.2" -> 2.2; CityJSON 1.0 wrote numbers); None if absent
    or unreadable."""
    if isinstance(lod, bool):
        return None
    if isinstance(lod, int | float):
        return float(lod)
    if isinstance(lod, str):
        try:
            return float(lod)
        except ValueError:
            return None
    return None
