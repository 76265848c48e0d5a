"""Items of a collection rendered by PostGIS: ONE statement counts the matches and builds the page's
FeatureCollection (geometry transformed to the requested CRS, properties by json_build_object); Python adds
the links. The collection's source SQL is wrapped as a subquery, which PostgreSQL flattens, so the bbox test
reaches the GiST index of the stored EPSG:4326 geometry."""

from __future__ import annotations

import json
from typing import Any

from django.core.cache import cache
from django.db import connection

from apps.core.data_version import data_version

from .collections import Collection
from .crs import CRS, CRS84_URI
from .params import ItemsQuery

EXTENT_TTL_S = 3600


def _value_sql(name: str, kind: str) -> str:
    """A property's value; a float keeps a decimal point (9.000, not 9), so that clients guessing types from
    the values (GDAL, QGIS) make the field real, not integer."""
    if kind == "number":
        return f'round(t."{name}"::numeric, 3)'
    return f't."{name}"'


def _feature_sql(collection: Collection, crs: CRS) -> str:
    props = ", ".join(f"'{name}', {_value_sql(name, kind)}" for name, kind in collection.properties.items())
    geometry = f"ST_AsGeoJSON({crs.geometry_sql('t.geom')}, {crs.decimals})::json"
    return (
        f"json_build_object('type', 'Feature', 'id', t.pk, 'geometry', {geometry}, "
        f"'properties', json_build_object({props}))"
    )


def _envelope_sql(query: ItemsQuery) -> tuple[str, list[Any]]:
    """The bbox as an EPSG:4326 (lon/lat) polygon; a projected bbox is densified before its transform."""
    assert query.bbox is not None
    x0, y0, x1, y1 = query.bbox
    if query.bbox_crs.srid == 4326:
        if query.bbox_crs.lat_first:
            x0, y0, x1, y1 = y0, x0, y1, x1
        return "ST_MakeEnvelope(%s, %s, %s, %s, 4326)", [x0, y0, x1, y1]
    srid = int(query.bbox_crs.srid)
    sql = f"ST_Transform(ST_Segmentize(ST_MakeEnvelope(%s, %s, %s, %s, {srid}), (%s - %s) / 16.0), 4326)"
    return sql, [x0, y0, x1, y1, x1, x0]


def _where(collection: Collection, query: ItemsQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.bbox is not None:
        envelope, envelope_params = _envelope_sql(query)
        clauses.append(f"t.geom && {envelope} AND ST_Intersects(t.geom, {envelope})")
        params += envelope_params * 2
    if query.interval is not None and collection.temporal:
        start, end = query.interval
        column = f't."{collection.temporal}"'
        if start is not None:
            clauses.append(f"{column} >= %s")
            params.append(start)
        if end is not None:
            clauses.append(f"{column} <= %s")
            params.append(end)
    for name, value in query.filters.items():
        clauses.append(f't."{name}" = %s')
        params.append(value)
    return (" AND ".join(clauses) or "true"), params


def page(collection: Collection, user: Any, query: ItemsQuery) -> tuple[str, int]:
    """The page's FeatureCollection text (without links) and the number of matching features."""
    source, source_params = collection.rows(user)
    where, where_params = _where(collection, query)
    sql = f"""
        SELECT json_build_object(
                   'type', 'FeatureCollection', 'numberMatched', c.n, 'numberReturned', count(f.feature),
                   'timeStamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   'features', coalesce(json_agg(f.feature ORDER BY f.pk) FILTER (WHERE f.pk IS NOT NULL), '[]'::json)
               )::text, c.n
        FROM (SELECT count(*) AS n FROM ({source}) t WHERE {where}) c
        LEFT JOIN (
            SELECT t.pk, {_feature_sql(collection, query.crs)} AS feature
            FROM ({source}) t WHERE {where}
            ORDER BY t.pk LIMIT {int(query.limit)} OFFSET {int(query.offset)}
        ) f ON true
        GROUP BY c.n
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*source_params, *where_params, *source_params, *where_params])
        body, matched = cursor.fetchone()
    return body, int(matched)


def item(collection: Collection, user: Any, pk: int, crs: CRS) -> str | None:
    """One feature's GeoJSON text, or None if the role cannot see it (or it does not exist)."""
    source, source_params = collection.rows(user)
    sql = f"SELECT ({_feature_sql(collection, crs)})::text FROM ({source}) t WHERE t.pk = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*source_params, pk])
        row = cursor.fetchone()
    return None if row is None else row[0]


def with_members(document: str, **members: Any) -> str:
    """Appends members (links, crs) to a JSON object's text without parsing the features."""
    extra = ",".join(f"{json.dumps(k)}:{json.dumps(v, separators=(',', ':'))}" for k, v in members.items())
    return document[:-1] + "," + extra + "}"


def extent(collection: Collection, user: Any, *, audience: str) -> dict[str, Any]:
    """The collection's spatial (CRS84) and, if it has one, temporal extent; cached per data version."""
    key = f"citytwin:ogc:extent:{data_version()}:{collection.id}:{audience}"
    found = cache.get(key) if collection.versioned else None
    if found is not None:
        return found
    source, params = collection.rows(user)
    column = f't."{collection.temporal}"' if collection.temporal else "NULL::timestamptz"
    sql = f"""SELECT ST_XMin(x.e), ST_YMin(x.e), ST_XMax(x.e), ST_YMax(x.e), x.t0, x.t1
              FROM (SELECT ST_Extent(t.geom) AS e, min({column}) AS t0, max({column}) AS t1 FROM ({source}) t) x"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        x0, y0, x1, y1, start, end = cursor.fetchone()
    result: dict[str, Any] = {}
    if x0 is not None:
        result["spatial"] = {"bbox": [[round(v, 7) for v in (x0, y0, x1, y1)]], "crs": CRS84_URI}
    if collection.temporal and (start or end):
        interval = [t.isoformat().replace("+00:00", "Z") if t else None for t in (start, end)]
        result["temporal"] = {"interval": [interval], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    if collection.versioned:
        cache.set(key, result, EXTENT_TTL_S)
    return result
