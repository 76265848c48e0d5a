"""The buildings as a CityJSON 2.0 document: LoD1, each footprint extruded from z = 0 to its height.

The geometry is built in PostGIS in two statements: the extent (for the transform), then every building's
CityObject (as JSON) and its vertices (as text), so Python only joins text. Footprints are transformed to
a metric CRS (the city's, CITYTWIN_METRIC_SRID, unless another projected one is asked for) and snapped to
the transform's 1 mm grid, which drops repeated points and collapsed rings, so the integer vertices are
exact. A footprint polygon becomes one Solid (ground, roof, one wall per edge, oriented outwards); a
building of several polygons a MultiSolid.

Attributes: name, function (our `use`), storeysAboveGround (levels), measuredHeight (only for a height
the source tagged), height and heightSource (always), the source and its id, and osmId/osmType for OSM
buildings; the metadata's title carries the OpenStreetMap attribution when any building comes from OSM.
Re-imported with load_city, the document gives the same buildings (tests/test_cityjson_export.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.db import connection
from django.db.models import QuerySet

from apps.core.context_processors import OSM_ATTRIBUTION
from apps.core.geo import DEFAULT_METRIC_SRID, BBox

from .models import Building

MEDIA_TYPE = "application/city+json"
VERSION = "2.0"
SCALE = 0.001  # vertices in millimetres
CRS_URL = "https://www.opengis.net/def/crs/EPSG/0/{srid}"
FETCH_ROWS = 2000


class ExportCRSError(ValueError):
    """A CRS the export cannot write: unknown, or not projected in metres."""


def metric_srid() -> int:
    return int(getattr(settings, "CITYTWIN_METRIC_SRID", DEFAULT_METRIC_SRID))


def check_export_srid(srid: int) -> int:
    """`srid` if it is a projected CRS in metres that PostGIS knows; else ExportCRSError."""
    from pyproj import CRS  # an EPSG code is looked up locally

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s", [srid])
        known = cursor.fetchone() is not None
    try:
        crs = CRS.from_epsg(srid) if known else None
    except Exception:  # noqa: BLE001 - pyproj raises several types
        crs = None
    if crs is None:
        raise ExportCRSError(f"EPSG:{srid} is not a coordinate reference system PostGIS knows")
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise ExportCRSError(f"EPSG:{srid} is not a projected CRS in metres; CityJSON vertices need one")
    return srid


# Both statements start with their parameters (p), then the selected buildings' ids (the queryset's SQL,
# whose own parameters follow).
_EXTENT_SQL = """
WITH p AS (SELECT %s::int AS srid)
SELECT count(*), floor(min(ST_XMin(g))), floor(min(ST_YMin(g))), max(ST_XMax(g)), max(ST_YMax(g)), max(h),
       coalesce(bool_or(source = 'osm' OR osm_id IS NOT NULL), false)
FROM (SELECT ST_Transform(b.geom, p.srid) AS g, b.height_m AS h, b.source, b.osm_id
      FROM buildings_building b, p WHERE b.id IN ({ids})) t
"""

# One row per building: its id in the document, its CityObject, its vertices ("[x,y,z],..."). Vertex k of
# the document is 2 * (the point's number) on the ground and 2 * (the point's number) + 1 on the roof.
_OBJECTS_SQL = """
WITH p AS (SELECT %s::int AS srid, %s::float8 AS tx, %s::float8 AS ty, %s::float8 AS scale),
b AS (
    SELECT b.id, b.source, b.source_id, b.name, b.use, b.levels, b.height_m, b.height_source, b.osm_id, b.osm_type,
           ST_ForcePolygonCCW(ST_SnapToGrid(ST_Transform(b.geom, p.srid), p.tx, p.ty, p.scale, p.scale)) AS g
    FROM buildings_building b, p WHERE b.id IN ({ids})
),
dumped AS (
    SELECT b.id, d.path[1] AS poly, d.path[2] AS ring, d.path[3] AS i,
           count(*) OVER (PARTITION BY b.id, d.path[1], d.path[2]) AS n,
           round((ST_X(d.geom) - p.tx) / p.scale)::bigint AS x, round((ST_Y(d.geom) - p.ty) / p.scale)::bigint AS y,
           round(b.height_m / p.scale)::bigint AS z
    FROM p, b CROSS JOIN LATERAL ST_DumpPoints(b.g) d
    WHERE GeometryType(b.g) = 'MULTIPOLYGON'
),
numbered AS (  -- CityJSON rings are not closed: the last point (the first again) is left out
    SELECT *, row_number() OVER (ORDER BY id, poly, ring, i) - 1 AS k FROM dumped WHERE i < n
),
pts AS (
    SELECT *, coalesce(lead(k) OVER w, first_value(k) OVER w) AS k_next
    FROM numbered WINDOW w AS (PARTITION BY id, poly, ring ORDER BY i)
),
rings AS (
    SELECT id, poly, ring, jsonb_agg(2 * k ORDER BY i DESC) AS ground, jsonb_agg(2 * k + 1 ORDER BY i) AS roof,
           string_agg(format('[%%s,%%s,0],[%%s,%%s,%%s]', x, y, x, y, z), ',' ORDER BY i) AS vertices
    FROM pts GROUP BY id, poly, ring
),
walls AS (
    SELECT id, poly,
           jsonb_agg(jsonb_build_array(jsonb_build_array(2 * k, 2 * k_next, 2 * k_next + 1, 2 * k + 1)) ORDER BY ring, i)
               AS walls
    FROM pts GROUP BY id, poly
),
solids AS (
    SELECT r.id, r.poly,
           jsonb_build_array(jsonb_build_array(jsonb_agg(r.ground ORDER BY r.ring), jsonb_agg(r.roof ORDER BY r.ring))
                             || w.walls) AS solid,
           string_agg(r.vertices, ',' ORDER BY r.ring) AS vertices
    FROM rings r JOIN walls w ON w.id = r.id AND w.poly = r.poly GROUP BY r.id, r.poly, w.walls
),
geometry AS (
    SELECT id, count(*) AS parts, jsonb_agg(solid ORDER BY poly) AS solids,
           string_agg(vertices, ',' ORDER BY poly) AS vertices
    FROM solids GROUP BY id
)
SELECT b.source || '/' || b.source_id,
       jsonb_build_object(
           'type', 'Building',
           'attributes', jsonb_strip_nulls(jsonb_build_object(
               'name', nullif(b.name, ''), 'function', nullif(b.use, ''), 'storeysAboveGround', b.levels,
               'measuredHeight', CASE WHEN b.height_source = 'height' THEN b.height_m END,
               'height', b.height_m, 'heightSource', b.height_source, 'source', b.source, 'sourceId', b.source_id,
               'osmId', b.osm_id, 'osmType', nullif(b.osm_type, ''))),
           'geometry', jsonb_build_array(jsonb_build_object(
               'type', CASE WHEN g.parts = 1 THEN 'Solid' ELSE 'MultiSolid' END, 'lod', '1',
               'boundaries', CASE WHEN g.parts = 1 THEN g.solids -> 0 ELSE g.solids END))
       )::text,
       g.vertices
FROM b JOIN geometry g ON g.id = b.id
ORDER BY b.id
"""


@dataclass(frozen=True)
class Extent:
    count: int
    tx: float
    ty: float
    xmax: float
    ymax: float
    zmax: float
    osm: bool


def _ids_sql(buildings: QuerySet[Building]) -> tuple[str, list[Any]]:
    sql, params = buildings.order_by().values("pk").query.sql_with_params()
    return sql, list(params)


def building_extent(buildings: QuerySet[Building], srid: int) -> Extent:
    """How many buildings, where (in `srid`, the origin floored to the metre) and whether any is OSM's."""
    ids, params = _ids_sql(buildings)
    with connection.cursor() as cursor:
        cursor.execute(_EXTENT_SQL.format(ids=ids), [srid, *params])
        count, tx, ty, xmax, ymax, zmax, osm = cursor.fetchone()
    if not count:
        return Extent(0, 0.0, 0.0, 0.0, 0.0, 0.0, False)
    return Extent(int(count), float(tx), float(ty), float(xmax), float(ymax), float(zmax), bool(osm))


def _header(extent: Extent, srid: int) -> dict[str, Any]:
    title = "CityTwin buildings, LoD1 (footprints extruded to their heights)"
    if extent.osm:
        title += f"; building data {OSM_ATTRIBUTION}, ODbL"
    metadata: dict[str, Any] = {"title": title, "referenceSystem": CRS_URL.format(srid=srid)}
    if extent.count:
        metadata["geographicalExtent"] = [extent.tx, extent.ty, 0.0, extent.xmax, extent.ymax, extent.zmax]
    return {
        "type": "CityJSON",
        "version": VERSION,
        "transform": {"scale": [SCALE, SCALE, SCALE], "translate": [extent.tx, extent.ty, 0.0]},
        "metadata": metadata,
    }


def cityjson_chunks(buildings: QuerySet[Building], *, srid: int | None = None) -> Iterator[str]:
    """The document as text, in pieces (write them one after another). `srid`: a projected CRS in metres,
    checked with check_export_srid; default the city's metric CRS."""
    srid = check_export_srid(srid if srid is not None else metric_srid())
    extent = building_extent(buildings, srid)
    head = json.dumps(_header(extent, srid), ensure_ascii=False)
    yield head[:-1] + ', "CityObjects": {'
    vertices: list[str] = []
    if extent.count:
        ids, params = _ids_sql(buildings)
        with connection.cursor() as cursor:
            cursor.execute(_OBJECTS_SQL.format(ids=ids), [srid, extent.tx, extent.ty, SCALE, *params])
            first = True
            while rows := cursor.fetchmany(FETCH_ROWS):
                yield ("" if first else ",") + ",".join(f"{json.dumps(key)}: {obj}" for key, obj, _ in rows)
                vertices.extend(v for _, _, v in rows)
                first = False
    yield '}, "vertices": ['
    yield from _joined(vertices)
    yield "]}"


def _joined(parts: list[str]) -> Iterator[str]:
    for start in range(0, len(parts), FETCH_ROWS):
        yield ("," if start else "") + ",".join(parts[start : start + FETCH_ROWS])


def cityjson_text(buildings: QuerySet[Building], *, srid: int | None = None) -> str:
    return "".join(cityjson_chunks(buildings, srid=srid))


def select_buildings(*, bbox: BBox | None = None, source: str | None = None) -> QuerySet[Building]:
    """The buildings whose footprint intersects `bbox` (WGS 84), of `source` when given."""
    buildings = Building.objects.all()
    if bbox is not None:
        buildings = buildings.filter(geom__intersects=Polygon.from_bbox(bbox.as_tuple()))
    if source is not None:
        buildings = buildings.filter(source=source)
    return buildings
