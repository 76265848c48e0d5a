"""The OGC API's JSON documents other than features: landing page, conformance, collection metadata,
queryables and the API definition (OpenAPI 3.0). `base` is the absolute URL of /ogc (no trailing slash)."""

from __future__ import annotations

from typing import Any

from . import crs as crs_module
from .collections import ODBL, Collection

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA = "application/schema+json"
REL = "http://www.opengis.net/def/rel/ogc/1.0/"

_FEATURES = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
_TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/oas30",
    f"{_FEATURES}core",
    f"{_FEATURES}geojson",
    f"{_FEATURES}html",
    f"{_FEATURES}oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    f"{_TILES}core",
    f"{_TILES}tileset",
    f"{_TILES}tilesets-list",
    f"{_TILES}geodata-tilesets",
    f"{_TILES}mvt",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
]


def link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    found = {"href": href, "rel": rel, "type": type_}
    if title:
        found["title"] = title
    return found


def self_links(url: str, *, json_type: str = JSON) -> list[dict[str, str]]:
    """`self` as JSON and its `alternate` as HTML (the same URL with f=)."""
    join = "&" if "?" in url else "?"
    return [link(f"{url}{join}f=json", "self", json_type), link(f"{url}{join}f=html", "alternate", HTML, "as HTML")]


def landing(base: str) -> dict[str, Any]:
    return {
        "title": "CityTwin",
        "description": "The city's digital twin as OGC API - Features and Tiles: buildings, the road network, "
        "utility assets, districts, sensors and published scenario results. " + ODBL,
        "attribution": ODBL,
        "links": [
            *self_links(f"{base}/"),
            link(f"{base}/api", "service-desc", OPENAPI, "The API definition (OpenAPI 3.0)"),
            link(f"{base}/api?f=html", "service-doc", HTML, "The API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "Conformance classes implemented"),
            link(f"{base}/conformance", f"{REL}conformance", JSON),
            link(f"{base}/collections", "data", JSON, "The collections"),
            link(f"{base}/collections", f"{REL}data", JSON),
            link(f"{base}/tileMatrixSets", f"{REL}tiling-schemes", JSON, "Tile matrix sets"),
        ],
    }


def collection_document(base: str, collection: Collection, extent: dict[str, Any]) -> dict[str, Any]:
    url = f"{base}/collections/{collection.id}"
    links = [
        *self_links(url),
        link(f"{url}/items?f=json", "items", GEOJSON, "The features as GeoJSON"),
        link(f"{url}/items?f=html", "items", HTML, "The features as HTML"),
        link(f"{url}/queryables", f"{REL}queryables", SCHEMA, "What the items can be filtered on"),
        link("https://opendatacommons.org/licenses/odbl/1-0/", "license", HTML, "ODbL 1.0"),
    ]
    if collection.tile_layer:
        links.append(link(f"{url}/tiles", f"{REL}tilesets-vector", JSON, "Vector tiles"))
    document: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "attribution": collection.attribution,
        "itemType": "feature",
        "crs": [c.uri for c in crs_module.supported()],
        "storageCrs": crs_module.CRS84_URI,
        "extent": extent,
        "links": links,
        **collection.extra,
    }
    return document


def collections_document(base: str, documents: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "links": self_links(f"{base}/collections"),
        "crs": [c.uri for c in crs_module.supported()],
        "collections": documents,
    }


_GEOMETRY_FORMATS = {
    "Point": "geometry-point",
    "LineString": "geometry-linestring",
    "MultiPolygon": "geometry-multipolygon",
}


def queryables(base: str, collection: Collection) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "geometry": {
            "format": _GEOMETRY_FORMATS.get(collection.geometry, "geometry-any"),
            "x-ogc-role": "primary-geometry",
        }
    }
    for name, kind in collection.properties.items():
        schema = {"type": "string", "format": "date-time"} if kind == "date-time" else {"type": kind}
        properties[name] = {"title": name.replace("_", " "), **schema}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{collection.id}/queryables",
        "type": "object",
        "title": collection.title,
        "properties": properties,
        "additionalProperties": False,
    }
