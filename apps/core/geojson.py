"""GeoJSON FeatureCollections rendered by PostGIS.

A list endpoint's filtered queryset is compiled to SQL by Django and wrapped in one statement that builds
the whole document with json_build_object/json_agg/ST_AsGeoJSON; Python only passes the text through.
This is what keeps a 5,000-feature page near the cost of the raw SQL (bench/bench_geojson.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections
from django.db.models import QuerySet

GEOJSON_DECIMALS = 7  # ~1 cm at the equator; more is noise, fewer visibly moves building corners


def feature_collection_sql(
    queryset: QuerySet, *, fields: Sequence[str], geom_field: str = "geom"
) -> tuple[str, list[Any]]:
    """SQL (and params) returning one text row: the FeatureCollection of `queryset` (already sliced).

    `fields` are the model fields to put into each feature's properties, keyed by field name (a foreign
    key carries the related row's id)."""
    inner_sql, inner_params = queryset.values("pk", geom_field, *fields).query.sql_with_params()
    # values() names each output column after its field ("pk" for the primary key).
    props = ", ".join(f"'{name}', t.\"{name}\"" for name in fields)
    sql = (
        "SELECT json_build_object('type', 'Feature', 'id', t.pk, "
        f"'geometry', ST_AsGeoJSON(t.\"{geom_field}\", {GEOJSON_DECIMALS})::json, "
        f"'properties', json_build_object({props})) AS feature FROM ({inner_sql}) t"
    )
    return (
        "SELECT json_build_object('type', 'FeatureCollection', 'count', %s::bigint, "
        "'numberMatched', %s::bigint, 'numberReturned', count(*), 'next', %s::text, 'previous', %s::text, "
        "'features', coalesce(json_agg(f.feature), '[]'::json))::text FROM (" + sql + ") f",
        list(inner_params),
    )


def render_feature_collection(
    queryset: QuerySet,
    *,
    fields: Sequence[str],
    count: int,
    next_url: str | None,
    previous_url: str | None,
    geom_field: str = "geom",
) -> str:
    """The FeatureCollection JSON text for one page: `queryset` must already be ordered and sliced."""
    sql, params = feature_collection_sql(queryset, fields=fields, geom_field=geom_field)
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, [count, count, next_url, previous_url, *params])
        row = cursor.fetchone()
    return row[0]
