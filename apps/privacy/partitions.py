"""The two fixed public partitions: the districts (PostGIS: the district containing a sensor) and one H3
resolution (computed in Python: PostGIS has no h3 here). Only sources inside a district are published at
all, in both partitions, so that the two partitions cover the same sources (otherwise the H3 total minus
the district total would be the sources outside every district)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import h3
from django.core.cache import cache
from django.db import connection

from apps.core.data_version import data_version

from . import conf
from .exceptions import PublicQueryError

PARTITIONS = ("district", "h3")


@dataclass(frozen=True)
class Placed:
    """A sensor and its cell in each partition."""

    sensor_id: int
    district: str
    h3: str


def check_partition(partition: str) -> None:
    if partition not in PARTITIONS:
        raise PublicQueryError(f"unknown partition {partition[:40]!r}: one of {', '.join(PARTITIONS)}")


def placed_sensors(kind: str) -> list[Placed]:
    """Every sensor of this kind inside a district (on a border: the district with the lowest id)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT s.id, d.id, ST_Y(s.geom), ST_X(s.geom) FROM sensors_sensor s
               JOIN LATERAL (SELECT d.id FROM districts_district d WHERE ST_Intersects(d.geom, s.geom)
                             ORDER BY d.id LIMIT 1) d ON true
               WHERE s.kind = %s ORDER BY s.id""",
            [kind],
        )
        rows = cursor.fetchall()
    res = conf.h3_resolution()
    return [Placed(sid, str(did), h3.latlng_to_cell(lat, lon, res)) for sid, did, lat, lon in rows]


def district_names() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, name FROM districts_district")
        return {str(did): name for did, name in cursor.fetchall()}


def city_h3_cells() -> list[str]:
    """The H3 cells of the configured resolution that overlap any district."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_AsGeoJSON(ST_Union(geom)) FROM districts_district")
        (union,) = cursor.fetchone()
    if not union:
        return []
    shape = h3.geo_to_h3shape(json.loads(union))
    return sorted(h3.h3shape_to_cells_experimental(shape, conf.h3_resolution(), contain="overlap"))


def partition_cells(partition: str) -> str:
    """GeoJSON FeatureCollection text of the partition's cells (properties: cell, name), rendered by
    PostGIS. Cached per data version (a new import of districts changes it)."""
    check_partition(partition)
    key = f"privacy:cells:{partition}:{conf.h3_resolution()}:{data_version()}"
    cached = cache.get(key)
    if cached is not None:
        return str(cached)
    feature = """json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(g, 6)::json,
                                   'properties', json_build_object('cell', c, 'name', n))"""
    with connection.cursor() as cursor:
        if partition == "district":
            cursor.execute(
                f"""SELECT json_build_object('type', 'FeatureCollection', 'features',
                                             coalesce(json_agg({feature} ORDER BY c), '[]'::json))::text
                    FROM (SELECT id::text AS c, name AS n, geom AS g FROM districts_district) t"""
            )
        else:
            cells = city_h3_cells()
            rings = [
                "POLYGON(("
                + ", ".join(f"{lng} {lat}" for lat, lng in [*h3.cell_to_boundary(c), h3.cell_to_boundary(c)[0]])
                + "))"
                for c in cells
            ]
            cursor.execute(
                f"""SELECT json_build_object('type', 'FeatureCollection', 'features',
                                             coalesce(json_agg({feature} ORDER BY c), '[]'::json))::text
                    FROM (SELECT c, c AS n, ST_GeomFromText(w, 4326) AS g
                          FROM unnest(%s::text[], %s::text[]) AS t(c, w)) t""",
                [cells, rings],
            )
        (text,) = cursor.fetchone()
    cache.set(key, text, timeout=3600)
    return str(text)
