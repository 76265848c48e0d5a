"""The OGC API's own definition (OpenAPI 3.0, the `service-desc` link): what /ogc answers, with the
parameters of each path. GDAL reads the items' `limit` maximum from here to choose its page size."""

from __future__ import annotations

from typing import Any

from . import crs as crs_module
from .collections import Collection
from .documents import GEOJSON, HTML, JSON
from .params import DEFAULT_LIMIT, MAX_LIMIT


def _param(
    name: str, where: str, schema: dict[str, Any], description: str, *, required: bool = False
) -> dict[str, Any]:
    found = {"name": name, "in": where, "schema": schema, "description": description, "required": required}
    if where == "query":
        found |= {"style": "form", "explode": False}
    return found


def _ok(description: str, *types: str) -> dict[str, Any]:
    content = {t: {"schema": {"type": "string"} if t == HTML else {"type": "object"}} for t in types}
    return {
        "200": {"description": description, "content": content},
        "400": {"description": "A parameter is invalid: the body says which and why.", "content": _ERROR},
        "404": {"description": "No such collection or feature (or not for your role).", "content": _ERROR},
    }


_ERROR = {
    "application/json": {
        "schema": {
            "type": "object",
            "required": ["code"],
            "properties": {"code": {"type": "string"}, "description": {"type": "string"}, "detail": {"type": "string"}},
        }
    }
}


def definition(base: str, collections: list[Collection]) -> dict[str, Any]:
    uris = [c.uri for c in crs_module.supported()]
    f = _param(
        "f", "query", {"type": "string", "enum": ["json", "html"]}, "The format; default from the Accept header."
    )
    collection_id = _param(
        "collectionId",
        "path",
        {"type": "string", "enum": [c.id for c in collections]},
        "A collection's id.",
        required=True,
    )
    tms = _param(
        "tileMatrixSetId", "path", {"type": "string", "enum": ["WebMercatorQuad"]}, "The tiling scheme.", required=True
    )
    items_params = [
        collection_id,
        _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
               f"Features per page; larger values are capped at {MAX_LIMIT}."),
        _param("offset", "query", {"type": "integer", "minimum": 0, "default": 0}, "Features to skip (the `next` link carries it)."),
        _param("bbox", "query", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
               "Only features intersecting this box: lower corner, upper corner, in bbox-crs's axis order."),
        _param("bbox-crs", "query", {"type": "string", "format": "uri", "enum": uris}, "The bbox's CRS; default CRS84."),
        _param("crs", "query", {"type": "string", "format": "uri", "enum": uris}, "The CRS of the answer's geometry; default CRS84."),
        _param("datetime", "query", {"type": "string"},
               "An RFC 3339 instant or interval (`a/b`, `../b`, `a/..`) on the collection's time property, if it has one."),
        f,
    ]  # fmt: skip
    paths: dict[str, Any] = {
        "/": {"get": {"summary": "Landing page", "operationId": "getLandingPage", "parameters": [f], "responses": _ok("Links to the API's parts.", JSON, HTML)}},
        "/conformance": {"get": {"summary": "Conformance classes", "operationId": "getConformance", "parameters": [f], "responses": _ok("The conformance classes.", JSON, HTML)}},
        "/collections": {"get": {"summary": "The collections", "operationId": "getCollections", "parameters": [f], "responses": _ok("Every collection's metadata.", JSON, HTML)}},
        "/collections/{collectionId}": {"get": {"summary": "A collection", "operationId": "describeCollection", "parameters": [collection_id, f], "responses": _ok("The collection's metadata.", JSON, HTML)}},
        "/collections/{collectionId}/queryables": {"get": {"summary": "Queryables", "operationId": "getQueryables", "parameters": [collection_id], "responses": _ok("A JSON Schema of the properties the items filter on.", "application/schema+json")}},
        "/collections/{collectionId}/items": {"get": {
            "summary": "Features", "operationId": "getFeatures",
            "description": "Any queryable property is also a query parameter: features whose property equals it.",
            "parameters": items_params, "responses": _ok("A page of features, with next/prev links.", GEOJSON, HTML),
        }},
        "/collections/{collectionId}/items/{featureId}": {"get": {
            "summary": "A feature", "operationId": "getFeature",
            "parameters": [collection_id, _param("featureId", "path", {"type": "integer"}, "The feature's id.", required=True),
                           items_params[5], f],
            "responses": {**_ok("The feature.", GEOJSON, HTML), "404": {"description": "No such feature, or not for your role."}},
        }},
        "/tileMatrixSets": {"get": {"summary": "Tile matrix sets", "operationId": "getTileMatrixSets", "responses": _ok("The tiling schemes.", JSON)}},
        "/tileMatrixSets/{tileMatrixSetId}": {"get": {
            "summary": "A tile matrix set", "operationId": "getTileMatrixSet",
            "parameters": [tms],
            "responses": _ok("Its definition.", JSON),
        }},
        "/collections/{collectionId}/tiles": {"get": {"summary": "A collection's tilesets", "operationId": "getTilesets", "parameters": [collection_id], "responses": _ok("The vector tilesets.", JSON)}},
        "/collections/{collectionId}/tiles/{tileMatrixSetId}": {"get": {"summary": "A tileset", "operationId": "getTileset", "parameters": [collection_id, tms], "responses": _ok("The tileset's metadata.", JSON)}},
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json": {"get": {"summary": "TileJSON", "operationId": "getTileJSON", "parameters": [collection_id, tms], "responses": _ok("TileJSON 3.0.0 of the tileset.", JSON)}},
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}": {"get": {
            "summary": "A vector tile", "operationId": "getTile",
            "parameters": [collection_id, tms,
                           _param("tileMatrix", "path", {"type": "integer", "minimum": 0, "maximum": 22}, "The zoom level.", required=True),
                           _param("tileRow", "path", {"type": "integer", "minimum": 0}, "The row (y), from the top.", required=True),
                           _param("tileCol", "path", {"type": "integer", "minimum": 0}, "The column (x), from the left.", required=True)],
            "responses": {
                "200": {"description": "A Mapbox Vector Tile (empty below the layer's first zoom).", "content": {"application/vnd.mapbox-vector-tile": {"schema": {"type": "string", "format": "binary"}}}},
                "304": {"description": "Not modified (If-None-Match)."},
                "400": {"description": "No such tile at that zoom.", "content": _ERROR},
                "404": {"description": "No such collection, tiles or tile matrix set.", "content": _ERROR},
            },
        }},
    }  # fmt: skip
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "CityTwin OGC API",
            "version": "1.0.0",
            "description": "OGC API - Features (Parts 1, 2 and the queryables of 3) and Tiles over the city's data. "
            "Map data (c) OpenStreetMap contributors, ODbL.",
            "license": {"name": "ODbL 1.0", "url": "https://opendatacommons.org/licenses/odbl/1-0/"},
        },
        "servers": [{"url": base}],
        "paths": paths,
    }
