"""The vector tiles described as OGC API - Tiles tilesets and TileJSON, so that MapLibre, QGIS and GDAL find
them without hand-written URLs. The tiles themselves are apps/tiles' (same cache, roles and headers): the
OGC tile path only reorders its coordinates (tileMatrix/tileRow/tileCol is z/y/x)."""

from __future__ import annotations

import math
from typing import Any

from apps.tiles.layers import LAYERS, TileLayer
from apps.tiles.views import MAX_ZOOM

from .collections import Collection
from .documents import JSON, REL, link

MVT = "application/vnd.mapbox-vector-tile"
TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
WEB_MERCATOR_URI = "http://www.opengis.net/def/crs/EPSG/0/3857"
_ORIGIN = 20037508.3427892
_CELL_0 = 2 * _ORIGIN / 256  # metres per pixel at zoom 0
_PIXEL_M = 0.00028  # the standard rendering pixel, 0.28 mm
_TILEJSON_TYPES = {"integer": "Number", "number": "Number", "boolean": "Boolean"}


def tile_matrix_set() -> dict[str, Any]:
    """WebMercatorQuad as OGC Two Dimensional Tile Matrix Set 2.0 defines it, zoom 0..MAX_ZOOM, with the
    1.0 encoding's members beside (`type`, `identifier`, `supportedCRS`, `tileMatrix`): GDAL 3.6 (Debian 12,
    and the QGIS built on it) reads only those; 2.0 clients ignore them."""
    matrices = [
        {
            "id": str(z),
            "scaleDenominator": _CELL_0 / 2**z / _PIXEL_M,
            "cellSize": _CELL_0 / 2**z,
            "cornerOfOrigin": "topLeft",
            "pointOfOrigin": [-_ORIGIN, _ORIGIN],
            "tileWidth": 256,
            "tileHeight": 256,
            "matrixWidth": 2**z,
            "matrixHeight": 2**z,
        }
        for z in range(MAX_ZOOM + 1)
    ]
    legacy = [
        {"type": "TileMatrixType", "identifier": m["id"], "topLeftCorner": m["pointOfOrigin"]}
        | {k: m[k] for k in ("scaleDenominator", "tileWidth", "tileHeight", "matrixWidth", "matrixHeight")}
        for m in matrices
    ]
    return {
        "id": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": WEB_MERCATOR_URI,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
        "type": "TileMatrixSetType",
        "identifier": TMS_ID,
        "supportedCRS": WEB_MERCATOR_URI,
        "tileMatrix": legacy,
    }


def tile_matrix_sets(base: str) -> dict[str, Any]:
    return {
        "tileMatrixSets": [
            {
                "id": TMS_ID,
                "title": "Google Maps Compatible for the World",
                "uri": TMS_URI,
                "links": [link(f"{base}/tileMatrixSets/{TMS_ID}", "self", JSON)],
            }
        ]
    }


def layer_fields(layer: TileLayer, collection: Collection) -> dict[str, str]:
    """The tile layer's attributes (its SQL's columns) with the collection's types."""
    names = [column.strip().removeprefix("t.") for column in layer.columns.split(",")]
    return {name: collection.properties.get(name, "integer" if name == "id" else "string") for name in names}


def _template(base: str, collection: Collection) -> str:
    return f"{base}/collections/{collection.id}/tiles/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"


def tileset(base: str, collection: Collection, extent: dict[str, Any]) -> dict[str, Any]:
    layer = LAYERS[collection.tile_layer or ""]
    url = f"{base}/collections/{collection.id}/tiles/{TMS_ID}"
    fields = layer_fields(layer, collection)
    document: dict[str, Any] = {
        "title": f"{collection.title}: vector tiles",
        "dataType": "vector",
        "crs": WEB_MERCATOR_URI,
        "tileMatrixSetURI": TMS_URI,
        "layers": [
            {
                "id": layer.name,
                "dataType": "vector",
                "geometryDimension": {"Point": 0, "LineString": 1}.get(collection.geometry, 2),
                "minTileMatrix": str(layer.min_zoom),
                "maxTileMatrix": str(MAX_ZOOM),
                "propertiesSchema": {
                    "type": "object",
                    "properties": {
                        name: {"type": kind if kind != "date-time" else "string"} for name, kind in fields.items()
                    },
                },
            }
        ],
        "links": [
            link(url, "self", JSON),
            link(f"{base}/tileMatrixSets/{TMS_ID}", f"{REL}tiling-scheme", JSON, "WebMercatorQuad"),
            link(f"{base}/collections/{collection.id}", "collection", JSON),
            link(f"{url}/tilejson.json", "describedby", JSON, "TileJSON"),
            {**link(_template(base, collection), "item", MVT, "A tile"), "templated": True},
        ],
        "attribution": collection.attribution,
    }
    if "spatial" in extent:
        document["tileMatrixSetLimits"] = limits(extent["spatial"]["bbox"][0], layer.min_zoom)
        document["boundingBox"] = {
            "lowerLeft": extent["spatial"]["bbox"][0][:2],
            "upperRight": extent["spatial"]["bbox"][0][2:],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        }
    return document


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    lat = max(min(lat, 85.05112878), -85.05112878)
    col = int((lon + 180.0) / 360.0 * n)
    row = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(col, 0), n - 1), min(max(row, 0), n - 1)


def limits(bbox: list[float], min_zoom: int) -> list[dict[str, Any]]:
    """The tiles that cover the extent, per zoom from the layer's first (OGC TileMatrixSetLimits)."""
    west, south, east, north = bbox
    found = []
    for z in range(min_zoom, MAX_ZOOM + 1):
        min_col, min_row = _tile_of(west, north, z)
        max_col, max_row = _tile_of(east, south, z)
        found.append(
            {
                "tileMatrix": str(z),
                "minTileRow": min_row,
                "maxTileRow": max_row,
                "minTileCol": min_col,
                "maxTileCol": max_col,
            }
        )
    return found


def tilesets(base: str, collection: Collection) -> dict[str, Any]:
    url = f"{base}/collections/{collection.id}/tiles"
    return {
        "links": [link(url, "self", JSON)],
        "tilesets": [
            {
                "title": f"{collection.title}: vector tiles",
                "dataType": "vector",
                "crs": WEB_MERCATOR_URI,
                "tileMatrixSetURI": TMS_URI,
                "links": [
                    link(f"{url}/{TMS_ID}", "self", JSON),
                    link(f"{base}/tileMatrixSets/{TMS_ID}", f"{REL}tiling-scheme", JSON),
                ],
            }
        ],
    }


def tilejson(site: str, base: str, collection: Collection, extent: dict[str, Any]) -> dict[str, Any]:
    """TileJSON 3.0.0 for the collection's layer (`site`: the absolute root URL of the site, no slash)."""
    layer = LAYERS[collection.tile_layer or ""]
    bounds = extent.get("spatial", {}).get("bbox", [[-180, -85.0511, 180, 85.0511]])[0]
    center_zoom = max(layer.min_zoom, 14)
    return {
        "tilejson": "3.0.0",
        "name": collection.title,
        "description": collection.description,
        "attribution": collection.attribution,
        "scheme": "xyz",
        "tiles": [f"{site}/tiles/{layer.name}/{{z}}/{{x}}/{{y}}.pbf"],
        "minzoom": layer.min_zoom,
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, center_zoom],
        "vector_layers": [
            {
                "id": layer.name,
                "description": collection.description,
                "minzoom": layer.min_zoom,
                "maxzoom": MAX_ZOOM,
                "fields": {
                    name: _TILEJSON_TYPES.get(kind, "String") for name, kind in layer_fields(layer, collection).items()
                },
            }
        ],
    }
