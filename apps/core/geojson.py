"""GeoJSON FeatureCollections rendered by PostGIS.

A list endpoint's filtered queryset is compiled to SQL by Django and wrapped in ONE statement that counts
the matches and builds the page's whole document with json_build_object/json_agg/ST_AsGeoJSON; Python only
passes the text through. This keeps a list near the cost of the raw SQL (bench/bench_geojson.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

GEOJSON_DECIMALS = 7  # ~1 cm at the equator; more is noise, fewer visibly moves building corners


def features_sql(page: QuerySet, *, fields: Sequence[str], geom_field: str = "geom") -> tuple[str, list[Any]]:
    """SQL (and params) yielding one `feature` JSON per row of `page` (ordered and sliced). `fields` go into
    the properties, keyed by field name (a foreign key carries the related row's id)."""
    inner_sql, inner_params = page.values("pk", geom_field, *fields).query.sql_with_params()
    # values() names each output column after its field ("pk" for the primary key).
    props = ", ".join(f"'{name}', t.\"{name}\"" for name in fields)
    sql = (
        f"SELECT json_build_object('type', 'Feature', 'id', t.pk, "
        f"'geometry', ST_AsGeoJSON(t.\"{geom_field}\", {GEOJSON_DECIMALS})::json, "
        f"'properties', json_build_object({props})) AS feature FROM ({inner_sql}) t"
    )
    return sql, list(inner_params)


def feature_collection_sql(
    queryset: QuerySet, *, fields: Sequence[str], limit: int, offset: int, geom_field: str = "geom"
) -> tuple[str, list[Any]]:
    """One statement returning the page's FeatureCollection text. Params after the returned ones: the next
    link (used only if more features follow) and the previous link."""
    count_sql, count_params = queryset.order_by().values("pk").query.sql_with_params()
    page_sql, page_params = features_sql(
        queryset.order_by("pk")[offset : offset + limit], fields=fields, geom_field=geom_field
    )
    sql = (
        "SELECT json_build_object('type', 'FeatureCollection', 'count', c.n, 'numberMatched', c.n, "
        "'numberReturned', count(f.feature), "
        f"'next', CASE WHEN {int(offset) + int(limit)} < c.n THEN %s::text END, 'previous', %s::text, "
        "'features', coalesce(json_agg(f.feature) FILTER (WHERE f.feature IS NOT NULL), '[]'::json))::text "
        f"FROM (SELECT count(*) AS n FROM ({count_sql}) q) c LEFT JOIN ({page_sql}) f ON true GROUP BY c.n"
    )
    return sql, [*count_params, *page_params]


def render_feature_collection(
    queryset: QuerySet,
    *,
    fields: Sequence[str],
    limit: int,
    offset: int,
    next_url: str | None,
    previous_url: str | None,
    geom_field: str = "geom",
) -> str:
    """The FeatureCollection JSON text of one page of `queryset` (filtered, not yet ordered or sliced)."""
    try:
        sql, params = feature_collection_sql(queryset, fields=fields, limit=limit, offset=offset, geom_field=geom_field)
    except EmptyResultSet:
        # Django knows without asking the database that no row can match (e.g. an id beyond its column's
        # range): the ORM would answer an empty list; compiling the SQL ourselves, we say so here.
        empty = {"type": "FeatureCollection", "count": 0, "numberMatched": 0, "numberReturned": 0}
        return json.dumps({**empty, "next": None, "previous": previous_url, "features": []})
    # The link placeholders come first in the statement's text, before the subqueries' own params.
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, [next_url, previous_url, *params])
        row = cursor.fetchone()
    return row[0]
