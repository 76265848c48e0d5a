"""OGC API - Tiles and TileJSON over the existing vector tiles, and the published scenario results as a
feature collection."""

from __future__ import annotations

import json
from typing import Any

import mapbox_vector_tile
import pytest

from apps.roads.models import RoadSegment
from apps.tiles.layers import LAYERS

pytestmark = pytest.mark.django_db
TILED = {"buildings": "buildings", "road-segments": "roads", "utility-assets": "assets", "districts": "districts"}
Z, X, Y = 15, 18654, 9484  # central Helsinki (24.945 E, 60.170 N)


def _json(client: Any, url: str, status: int = 200) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == status, response.content[:300]
    return json.loads(response.content)


def test_tile_matrix_set_is_web_mercator_quad(api) -> None:  # noqa: ANN001
    sets = _json(api, "/ogc/tileMatrixSets")["tileMatrixSets"]
    assert [s["id"] for s in sets] == ["WebMercatorQuad"]
    tms = _json(api, "/ogc/tileMatrixSets/WebMercatorQuad")
    assert tms["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    zero, fifteen = tms["tileMatrices"][0], tms["tileMatrices"][15]
    assert zero["scaleDenominator"] == pytest.approx(559082264.0287178, rel=1e-9)
    assert fifteen["matrixWidth"] == 2**15 and fifteen["cellSize"] == pytest.approx(4.777314267, rel=1e-8)
    _json(api, "/ogc/tileMatrixSets/WorldCRS84Quad", 404)


@pytest.mark.parametrize(("collection", "layer"), list(TILED.items()))
def test_tileset_describes_the_layer_and_its_tiles_answer_like_the_tile_endpoint(
    api, collection: str, layer: str
) -> None:  # noqa: ANN001
    listed = _json(api, f"/ogc/collections/{collection}/tiles")["tilesets"]
    assert listed[0]["dataType"] == "vector"
    tileset = _json(api, f"/ogc/collections/{collection}/tiles/WebMercatorQuad")
    assert tileset["layers"][0]["id"] == layer
    assert tileset["layers"][0]["minTileMatrix"] == str(LAYERS[layer].min_zoom)
    template = next(link["href"] for link in tileset["links"] if link["rel"] == "item")
    url = template.replace("http://testserver", "").format(tileMatrix=Z, tileRow=Y, tileCol=X)
    ogc_tile = api.get(url)
    plain = api.get(f"/tiles/{layer}/{Z}/{X}/{Y}.pbf")
    assert ogc_tile.status_code == plain.status_code == 200
    assert ogc_tile.content == plain.content and ogc_tile["ETag"] == plain["ETag"]
    decoded = mapbox_vector_tile.decode(ogc_tile.content)
    fields = set(tileset["layers"][0]["propertiesSchema"]["properties"])
    assert decoded[layer]["features"], "the tile over the city centre has features"
    assert set(decoded[layer]["features"][0]["properties"]) <= fields


def test_tilejson_points_at_the_tiles_with_bounds_and_fields(api) -> None:  # noqa: ANN001
    document = _json(api, "/ogc/collections/buildings/tiles/WebMercatorQuad/tilejson.json")
    assert document["tilejson"] == "3.0.0"
    assert document["tiles"] == ["http://testserver/tiles/buildings/{z}/{x}/{y}.pbf"]
    assert document["minzoom"] == LAYERS["buildings"].min_zoom
    assert document["vector_layers"][0]["fields"]["height_m"] == "Number"
    west, south, east, north = document["bounds"]
    assert west < 24.94 < east and south < 60.17 < north
    assert "OpenStreetMap contributors" in document["attribution"]


def test_collections_without_tiles_and_unknown_sets_are_404s(api) -> None:  # noqa: ANN001
    assert _json(api, "/ogc/collections/sensors/tiles", 404)["code"] == "NotFound"
    assert _json(api, "/ogc/collections/buildings/tiles/Other", 404)["code"] == "NotFound"
    assert api.get(f"/ogc/collections/sensors/tiles/WebMercatorQuad/{Z}/{Y}/{X}").status_code == 404
    assert api.get(f"/ogc/collections/buildings/tiles/WebMercatorQuad/{Z}/{X}/99999999").status_code == 400


def test_the_tiles_keep_the_public_asset_rule(api, api_as, operator) -> None:  # noqa: ANN001
    url = "/ogc/collections/utility-assets/tiles/WebMercatorQuad/14/4742/9327"  # z/row/col
    public = mapbox_vector_tile.decode(api.get(url).content)
    staff = api_as(operator)
    # the tile endpoint reads the session, not tokens: sign the operator in
    staff.force_login(operator)
    signed_in = mapbox_vector_tile.decode(staff.get(url).content)
    kinds = {f["properties"]["kind"] for f in public["assets"]["features"]}
    assert "substation" not in kinds and "pipeline" not in kinds
    assert {f["properties"]["kind"] for f in signed_in["assets"]["features"]} - kinds


def test_published_comparisons_are_feature_collections_of_their_segment_results(api) -> None:  # noqa: ANN001
    from tests.portal_world import make_world

    world = make_world("ogc")
    collection_id = f"published-{world['published'].pk}"
    listed = {c["id"]: c for c in _json(api, "/ogc/collections")["collections"]}
    assert collection_id in listed and world["published"].title in listed[collection_id]["title"]
    page = _json(api, f"/ogc/collections/{collection_id}/items?limit=100")
    segments = {s.pk for s in world["segments"]}
    assert {f["id"] for f in page["features"]} == segments  # the closed street too: zero flow in the variant
    closed = next(f for f in page["features"] if f["properties"]["flow_veh_h"] == 0)
    assert closed["properties"]["flow_diff"] == -closed["properties"]["flow_base"]
    increased = _json(api, f"/ogc/collections/{collection_id}/items?limit=100&flow_veh_h=0")
    assert [f["id"] for f in increased["features"]] == [closed["id"]]
    name = RoadSegment.objects.get(pk=closed["id"]).name
    assert closed["properties"]["name"] == name
    _json(api, "/ogc/collections/published-999999", 404)
    _json(api, "/ogc/collections/published-99999999999999999999", 404)
