"""Reading districts: their outlines as GeoJSON, rendered in PostGIS (for the dashboards' choropleths)."""

from __future__ import annotations

from django.db import connection

from apps.core.geojson import GEOJSON_DECIMALS


def districts_geojson() -> str:
    """A FeatureCollection of every district: id = the district's id; properties cell (the id again, as the
    key the choropleths join on), name and level."""
    sql = f"""
        SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
                   'type', 'Feature', 'id', d.id,
                   'geometry', ST_AsGeoJSON(d.geom, {GEOJSON_DECIMALS})::json,
                   'properties', json_build_object('cell', d.id::text, 'name', d.name, 'level', d.level)
               ) ORDER BY d.id), '[]'::json))::text
        FROM districts_district d
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return str(cursor.fetchone()[0])
