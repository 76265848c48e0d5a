"""The substations that feed the city's buildings, as the energy model sees them (selectors; the spatial
work happens in PostGIS).

Model: every stored substation (UtilityAsset kind "substation"; a polygon counts at its point on surface) is
a real centre, with its capacity from its tags (rating/capacity, e.g. "630 kVA", "0.63 MVA"; several values
separated by ";" add up) or else the default (conf.DEFAULT_CAPACITY_KVA, one 630 kVA 20/0.4 kV transformer).
OSM rarely maps the many small distribution substations of a city centre: when the stored ones cannot carry
the buildings' peak load at the design loading (conf.DESIGN_LOADING), synthetic substations of the default
size are added, placed by weighted k-means (ST_ClusterKMeans, each building's centroid weighted by its peak
load) and the cluster nearest each stored substation given to it, round after round, one more per service
area still over the design load, until every area fits (an area of one building that alone exceeds it gets
a larger standard transformer instead: capacity_source "sized"). A building is served by its nearest centre,
so the service areas are the Voronoi cells of all centres (ST_VoronoiPolygons), clipped to the buildings'
convex hull plus a margin. Everything is ordered by ids and keys: the same data gives the same keys and areas.
Building peak loads for the sizing are the sum of each building's peak (floor area x the profile's peak
W/m², no diversity): conservative, as planning is."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from . import conf
from .profiles import LOAD_PROFILES, PROFILE_USES


@dataclass(frozen=True)
class Substation:
    key: str  # "asset-<id>" for a stored substation, "synthetic-<n>" otherwise
    name: str
    asset_id: int | None
    lon: float
    lat: float
    capacity_kva: float
    capacity_source: str  # "tag", "default" or "sized" (a synthetic one serving one large building)
    synthetic: bool
    area_geojson: str  # its service area, EPSG:4326, GeoJSON rendered by PostGIS


@dataclass(frozen=True)
class GridModel:
    substations: list[Substation]
    lines: list[tuple[str, str, float]]  # MV lines between substations: (key, key, length m)
    note: str

    def by_key(self) -> dict[str, Substation]:
        return {s.key: s for s in self.substations}


# Floor area of a building (alias b): footprint x levels, levels from the height (3 m a storey) when missing.
FLOOR_AREA_SQL = "ST_Area(b.geom::geography) * coalesce(b.levels, greatest(round(b.height_m / 3.0), 1))"
CAPACITY_TAGS = ("rating", "capacity", "transformer:rating", "power_rating")
_CAPACITY = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(va|kva|mva)?\s*$", re.IGNORECASE)
_UNIT_KVA = {"va": 0.001, "kva": 1.0, "mva": 1000.0}


def parse_capacity(text: str) -> float | None:
    """kVA from a rating tag: "630 kVA", "0.63 MVA", "630000 VA", "630" (kVA); "630 kVA;400 kVA" adds up
    (two transformers). None when any part is not a rating."""
    total = 0.0
    for part in str(text).split(";"):
        m = _CAPACITY.match(part)
        if m is None:
            return None
        total += float(m.group(1).replace(",", ".")) * _UNIT_KVA[(m.group(2) or "kva").lower()]
    return total if total > 0 else None


def capacity_of(tags: Mapping[str, Any] | None) -> float | None:
    for name in CAPACITY_TAGS:
        value = (tags or {}).get(name)
        if value is not None and (kva := parse_capacity(str(value))) is not None:
            return kva
    return None


def _peak_params() -> dict[str, Any]:
    uses = [use for profile, us in PROFILE_USES.items() for use in us if profile != "mixed"]
    peaks = [LOAD_PROFILES[profile].peak_w_m2 for profile, us in PROFILE_USES.items() for _ in us if profile != "mixed"]
    return {"uses": uses, "peaks": peaks, "default_peak": LOAD_PROFILES["mixed"].peak_w_m2}


# Buildings with their point in the metric CRS and their peak apparent power (kVA).
_BUILDINGS_CTE = f"""
    peak(use, w_m2) AS (SELECT * FROM unnest(%(uses)s::text[], %(peaks)s::float8[])),
    b AS (
        SELECT b.id, ST_Transform(ST_PointOnSurface(b.geom), %(srid)s) AS p,
               {FLOOR_AREA_SQL} * coalesce(peak.w_m2, %(default_peak)s) / 1000.0 / %(pf)s AS kva
        FROM buildings_building b LEFT JOIN peak ON peak.use = b.use
    ),
    c(key, p) AS (
        SELECT key, ST_SetSRID(ST_MakePoint(x, y), %(srid)s)
        FROM unnest(%(keys)s::text[], %(xs)s::float8[], %(ys)s::float8[]) AS t(key, x, y)
    )
"""
# Each building is served by its nearest centre. An area over its design load (and of more than one
# building) is split: weighted k-means over its buildings into as many clusters as its load needs; the
# others keep their centre. Returns the new centres (weighted centroids) with the area they came from.
_SPLIT = f"""
    WITH {_BUILDINGS_CTE},
    served AS (
        SELECT b.*, n.key FROM b CROSS JOIN LATERAL (SELECT c.key FROM c ORDER BY c.p <-> b.p, c.key LIMIT 1) n
    ),
    area AS (
        SELECT key, CASE WHEN count(*) > 1 AND sum(kva) > %(design)s * cap THEN least(count(*), ceil(sum(kva) / (%(design)s * cap)))
                    ELSE 1 END::int AS parts
        FROM served JOIN unnest(%(keys)s::text[], %(caps)s::float8[]) AS t(key, cap) USING (key)
        GROUP BY key, cap
    ),
    k AS (
        SELECT s.key, s.kva + 1e-6 AS w, s.p,
               ST_ClusterKMeans(ST_MakePointM(ST_X(s.p), ST_Y(s.p), s.kva + 1e-6), a.parts)
                   OVER (PARTITION BY s.key ORDER BY s.id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                   AS cluster
        FROM served s JOIN area a USING (key)
    )
    SELECT key, count(*), sum(w), sum(ST_X(p) * w) / sum(w), sum(ST_Y(p) * w) / sum(w)
    FROM k GROUP BY key, cluster ORDER BY key, 4, 5
"""
# Weighted k-means centres of all buildings (weight: peak load, as the point's M value).
_KMEANS = f"""
    WITH {_BUILDINGS_CTE},
    k AS (
        SELECT kva + 1e-6 AS w, p, ST_ClusterKMeans(ST_MakePointM(ST_X(p), ST_Y(p), kva + 1e-6), %(k)s)
            OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS cluster
        FROM b
    )
    SELECT sum(ST_X(p) * w) / sum(w), sum(ST_Y(p) * w) / sum(w) FROM k GROUP BY cluster ORDER BY 1, 2
"""
_LOAD_PER_CENTRE = f"""
    WITH {_BUILDINGS_CTE}
    SELECT n.key, sum(b.kva)
    FROM b CROSS JOIN LATERAL (SELECT c.key FROM c ORDER BY c.p <-> b.p, c.key LIMIT 1) n
    GROUP BY n.key
"""
_AREAS = f"""
    WITH {_BUILDINGS_CTE},
    clip AS (SELECT ST_Buffer(ST_ConvexHull(ST_Collect(p)), %(margin)s) AS g FROM b),
    cells AS (
        SELECT (ST_Dump(ST_VoronoiPolygons(ST_Collect(c.p), 0, (SELECT g FROM clip)))).geom AS cell FROM c
    )
    SELECT c.key, ST_X(ST_Transform(c.p, 4326)), ST_Y(ST_Transform(c.p, 4326)),
           ST_AsGeoJSON(ST_Transform(ST_Intersection(coalesce(cells.cell, clip.g), clip.g), 4326), 7)
    FROM c CROSS JOIN clip
    LEFT JOIN cells ON (SELECT count(*) FROM c) > 1 AND ST_Contains(cells.cell, c.p)
    ORDER BY c.key
"""


def _params(centres: Sequence[tuple[str, float, float]], **extra: Any) -> dict[str, Any]:
    return {
        **_peak_params(),
        "srid": conf.metric_srid(),
        "pf": conf.POWER_FACTOR,
        "keys": [k for k, _, _ in centres],
        "xs": [x for _, x, _ in centres],
        "ys": [y for _, _, y in centres],
        **extra,
    }


def _query(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


@dataclass(frozen=True)
class _Stored:
    asset_id: int
    name: str
    x: float
    y: float
    capacity_kva: float | None


def _stored_substations() -> list[_Stored]:
    rows = _query(
        """
        SELECT a.id, a.name, a.tags, ST_X(p), ST_Y(p)
        FROM assets_utilityasset a CROSS JOIN LATERAL ST_Transform(ST_PointOnSurface(a.geom), %(srid)s) AS p
        WHERE a.kind = 'substation' ORDER BY a.id
        """,
        {"srid": conf.metric_srid()},
    )
    # Django hands raw jsonb over as text.
    return [
        _Stored(i, name, x, y, capacity_of(json.loads(tags) if isinstance(tags, str) else tags))
        for i, name, tags, x, y in rows
    ]


def _place(stored: list[_Stored], capacities: list[float], count: int) -> list[tuple[float, float]]:
    """Synthetic centres: `count` from weighted k-means over all buildings (one cluster more per stored
    substation, the cluster nearest each stored one given to it), then rounds of splitting the areas still
    over their design load."""
    rows = _query(_KMEANS, _params([], k=count + len(stored)))
    synthetic = [(float(x), float(y)) for x, y in rows]
    for s in stored:
        if synthetic:
            synthetic.remove(min(synthetic, key=lambda c: (math.dist(c, (s.x, s.y)), c)))
    stored_at = {f"asset-{s.asset_id}": (s.x, s.y) for s in stored}
    caps = {f"asset-{s.asset_id}": cap for s, cap in zip(stored, capacities, strict=True)}
    for _round in range(conf.MAX_ROUNDS):
        centres = [(k, x, y) for k, (x, y) in stored_at.items()]
        centres += [(f"synthetic-{i}", x, y) for i, (x, y) in enumerate(synthetic)]
        keys = [k for k, _, _ in centres]
        params = _params(
            centres, design=conf.DESIGN_LOADING, caps=[caps.get(k, conf.DEFAULT_CAPACITY_KVA) for k in keys]
        )
        parts: dict[str, list[tuple[float, float]]] = {}
        for key, _n, _w, x, y in _query(_SPLIT, params):
            parts.setdefault(key, []).append((float(x), float(y)))
        if all(len(p) == 1 for p in parts.values()):
            break
        synthetic = []
        for key in keys:
            pieces = parts.get(key, [])
            if key in stored_at:
                # The stored substation keeps the piece nearest to it; the others become synthetic.
                if pieces:
                    pieces.remove(min(pieces, key=lambda c: (math.dist(c, stored_at[key]), c)))
                synthetic += pieces
            elif len(pieces) > 1:
                synthetic += pieces
            else:
                synthetic.append(next(c[1:] for c in centres if c[0] == key))
    return sorted(synthetic)


def _sized(kva: float) -> float:
    for rating in conf.STANDARD_RATINGS_KVA:
        if kva <= rating * conf.DESIGN_LOADING:
            return rating
    return math.ceil(kva / conf.DESIGN_LOADING / 1000.0) * 1000.0  # several transformers


def grid_model() -> GridModel:
    """The substations (stored and synthetic), their service areas and the MV lines between them."""
    stored = _stored_substations()
    stored_kva = [s.capacity_kva or conf.DEFAULT_CAPACITY_KVA for s in stored]
    design_kva = conf.DEFAULT_CAPACITY_KVA * conf.DESIGN_LOADING
    stored_centres = [(f"asset-{s.asset_id}", s.x, s.y) for s in stored]
    ((total_kva, buildings),) = _query(
        f"WITH {_BUILDINGS_CTE} SELECT coalesce(sum(kva), 0), count(*) FROM b", _params([])
    )
    spare = total_kva - conf.DESIGN_LOADING * sum(stored_kva)
    count = max(0, math.ceil(spare / design_kva)) if buildings else 0
    if not stored and buildings:
        count = max(count, 1)
    # A city whose stored substations can carry its buildings gets no synthetic ones, however they are spread.
    synthetic = _place(stored, stored_kva, min(count, buildings)) if count else []
    centres = stored_centres + [(f"synthetic-{i + 1}", x, y) for i, (x, y) in enumerate(synthetic)]
    loads = {k: float(kva) for k, kva in _query(_LOAD_PER_CENTRE, _params(centres))} if synthetic else {}
    capacities: dict[str, tuple[float, str]] = {
        key: ((s.capacity_kva, "tag") if s.capacity_kva else (conf.DEFAULT_CAPACITY_KVA, "default"))
        for (key, _, _), s in zip(stored_centres, stored, strict=True)
    }
    for i in range(len(synthetic)):
        key = f"synthetic-{i + 1}"
        peak = loads.get(key, 0.0)
        capacities[key] = (conf.DEFAULT_CAPACITY_KVA, "default") if peak <= design_kva else (_sized(peak), "sized")
    centres = stored_centres + [(f"synthetic-{i + 1}", x, y) for i, (x, y) in enumerate(synthetic)]
    names = {f"asset-{s.asset_id}": s.name for s in stored}
    substations = []
    if centres:
        for key, lon, lat, area in _query(_AREAS, _params(centres, margin=conf.AREA_MARGIN_M)):
            capacity, source = capacities[key]
            substations.append(
                Substation(
                    key=key,
                    name=names.get(key) or ("Substation " + key.replace("-", " ")),
                    asset_id=int(key.removeprefix("asset-")) if key.startswith("asset-") else None,
                    lon=float(lon),
                    lat=float(lat),
                    capacity_kva=float(capacity),
                    capacity_source=source,
                    synthetic=key.startswith("synthetic-"),
                    area_geojson=area,
                )
            )
    substations.sort(key=_key_order)
    lines = _lines(substations)
    return GridModel(substations, lines, _note(len(stored), len(synthetic), bool(lines)))


def _key_order(s: Substation) -> tuple[int, int]:
    kind, _, number = s.key.partition("-")
    return (0 if kind == "asset" else 1, int(number))


def _note(stored: int, synthetic: int, lines: bool) -> str:
    stored_text = f"{stored} stored substation{'s' if stored != 1 else ''}"
    if synthetic:
        why = "the city's power data cannot serve its buildings"
        text = f"{stored_text} and {synthetic} synthetic one{'s' if synthetic != 1 else ''} ({why})"
    else:
        text = stored_text
    feed = "" if lines else "; each fed from the grid by a default cable"
    return f"{text}; service areas are Voronoi cells{feed}."


def _lines(substations: Sequence[Substation]) -> list[tuple[str, str, float]]:
    """Stored power lines and cables that touch two or more substations (stored: their footprint; synthetic:
    their centre): consecutive pairs in key order, with the line's length."""
    if len(substations) < 2:
        return []
    rows = _query(
        """
        WITH c(key, ord, asset_id, x, y) AS (
            SELECT * FROM unnest(%(keys)s::text[], %(ords)s::int[], %(assets)s::bigint[], %(xs)s::float8[], %(ys)s::float8[])
        ),
        g AS (
            SELECT c.key, c.ord, coalesce(a.geom, ST_SetSRID(ST_MakePoint(c.x, c.y), 4326)) AS geom
            FROM c LEFT JOIN assets_utilityasset a ON a.id = c.asset_id
        )
        SELECT l.id, ST_Length(l.geom::geography), array_agg(g.key ORDER BY g.ord)
        FROM assets_utilityasset l JOIN g ON ST_DWithin(l.geom::geography, g.geom::geography, %(touch)s)
        WHERE l.kind IN ('power_line', 'power_cable')
        GROUP BY l.id HAVING count(*) > 1 ORDER BY l.id
        """,
        {
            "keys": [s.key for s in substations],
            "ords": list(range(len(substations))),
            "assets": [s.asset_id for s in substations],
            "xs": [s.lon for s in substations],
            "ys": [s.lat for s in substations],
            "touch": conf.LINE_TOUCH_M,
        },
    )
    lines: dict[tuple[str, str], float] = {}
    for _id, length, keys in rows:
        for a, b in zip(keys, keys[1:], strict=False):
            lines.setdefault((a, b), float(length))
    return [(a, b, length) for (a, b), length in lines.items()]


_ATTACH = """
    WITH a(key, g) AS (
        SELECT key, ST_Transform(ST_GeomFromGeoJSON(j), %(srid)s)
        FROM unnest(%(keys)s::text[], %(areas)s::text[]) AS t(key, j)
    ),
    pts(i, p) AS ({points})
    SELECT pts.i, n.key FROM pts
    CROSS JOIN LATERAL (SELECT a.key FROM a ORDER BY ST_Distance(a.g, pts.p), a.key LIMIT 1) n
    ORDER BY pts.i
"""


def _attach_sql(grid: GridModel, points_sql: str, params: dict[str, Any]) -> list[tuple[Any, str]]:
    if not grid.substations:
        return []
    return [
        (i, key)
        for i, key in _query(
            _ATTACH.format(points=points_sql),
            {
                "srid": conf.metric_srid(),
                "keys": [s.key for s in grid.substations],
                "areas": [s.area_geojson for s in grid.substations],
                **params,
            },
        )
    ]


def attach(grid: GridModel, points: Sequence[tuple[float, float]]) -> list[str]:
    """The key of the substation serving each (lon, lat): the one whose service area holds it, else the
    nearest area."""
    if not points:
        return []
    rows = _attach_sql(
        grid,
        "SELECT i, ST_Transform(ST_SetSRID(ST_MakePoint(x, y), 4326), %(srid)s) "
        "FROM unnest(%(xs)s::float8[], %(ys)s::float8[]) WITH ORDINALITY AS t(x, y, i)",
        {"xs": [p[0] for p in points], "ys": [p[1] for p in points]},
    )
    return [key for _, key in rows]


def building_attachment(grid: GridModel) -> dict[int, str]:
    """Building id -> the key of the substation serving it (its point on surface in a service area)."""
    rows = _attach_sql(
        grid, "SELECT b.id, ST_Transform(ST_PointOnSurface(b.geom), %(srid)s) FROM buildings_building b", {}
    )
    return {int(i): key for i, key in rows}


def nearest_buildings(points: Sequence[tuple[float, float]], max_distance_m: float = 300) -> list[int | None]:
    """The id of the building nearest to each (lon, lat) (PostGIS KNN), None if none lies within max_distance_m."""
    if not points:
        return []
    rows = _query(
        """
        SELECT t.i, n.id FROM unnest(%(xs)s::float8[], %(ys)s::float8[]) WITH ORDINALITY AS t(x, y, i)
        CROSS JOIN LATERAL ST_SetSRID(ST_MakePoint(t.x, t.y), 4326) AS p
        LEFT JOIN LATERAL (
            SELECT b.id FROM buildings_building b
            WHERE ST_DWithin(b.geom::geography, p::geography, %(max)s)
            ORDER BY b.geom::geography <-> p::geography, b.id LIMIT 1
        ) n ON true
        ORDER BY t.i
        """,
        {"xs": [p[0] for p in points], "ys": [p[1] for p in points], "max": max_distance_m},
    )
    return [None if bid is None else int(bid) for _, bid in rows]
