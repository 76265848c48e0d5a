"""Vector tiles: real MVT from PostGIS, decoded; bad coordinates; caching; roles."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest

from apps.assets.conf import public_asset_kinds
from apps.buildings.models import Building

pytestmark = pytest.mark.django_db


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


CENTRE = (24.9445, 60.1690)


def test_building_tile_decodes_with_heights(client) -> None:  # noqa: ANN001
    x, y = tile_of(*CENTRE, 15)
    response = client.get(f"/tiles/buildings/15/{x}/{y}.pbf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    tile = mapbox_vector_tile.decode(response.content)
    features = tile["buildings"]["features"]
    assert len(features) > 50
    ids = {f["id"] for f in features}
    assert ids <= set(Building.objects.values_list("id", flat=True))
    heights = {f["id"]: f["properties"]["height_m"] for f in features}
    sample = Building.objects.filter(id__in=ids).first()
    assert heights[sample.id] == pytest.approx(sample.height_m)


def test_tile_outside_the_city_is_empty_and_low_zoom_is_empty(client) -> None:  # noqa: ANN001
    assert client.get("/tiles/buildings/15/0/0.pbf").content == b""
    x, y = tile_of(*CENTRE, 5)
    assert client.get(f"/tiles/buildings/5/{x}/{y}.pbf").content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/tiles/buildings/23/0/0.pbf",
        "/tiles/buildings/2/4/0.pbf",
        "/tiles/buildings/2/0/-1.pbf",
        "/tiles/roads/-1/0/0.pbf",
    ],
)
def test_bad_tile_coordinates_are_400(client, path: str) -> None:  # noqa: ANN001
    response = client.get(path)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_tile"


def test_unknown_layer_is_404(client) -> None:  # noqa: ANN001
    response = client.get("/tiles/secrets/1/0/0.pbf")
    assert response.status_code == 404 and "layers: buildings" in response.json()["detail"]


def test_head_and_conditional_get(client) -> None:  # noqa: ANN001
    x, y = tile_of(*CENTRE, 16)
    url = f"/tiles/roads/16/{x}/{y}.pbf"
    get = client.get(url)
    head = client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head["ETag"] == get["ETag"] and head["Content-Length"] == str(len(get.content)) != "0"
    assert get["Cache-Control"] == "public, max-age=300"
    assert client.get(url, HTTP_IF_NONE_MATCH=get["ETag"]).status_code == 304


def test_asset_tiles_depend_on_the_role_and_are_private(client, planner) -> None:  # noqa: ANN001
    x, y = tile_of(*CENTRE, 14)
    url = f"/tiles/assets/14/{x}/{y}.pbf"
    public = client.get(url)
    public_kinds = {f["properties"]["kind"] for f in mapbox_vector_tile.decode(public.content)["assets"]["features"]}
    assert "street_lamp" in public_kinds and public_kinds <= public_asset_kinds()
    assert "private" in public["Cache-Control"] and "Cookie" in public["Vary"]

    client.force_login(planner)
    staff_kinds = {
        f["properties"]["kind"] for f in mapbox_vector_tile.decode(client.get(url).content)["assets"]["features"]
    }
    assert staff_kinds - public_asset_kinds()  # e.g. pipeline, substation


def test_tiles_are_cached_until_the_city_changes(client, samples, django_capture_on_commit_callbacks) -> None:  # noqa: ANN001
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.imports.services import run_import

    x, y = tile_of(24.9415, 60.1673, 16)  # where invalid_polygons.geojson puts its buildings
    url = f"/tiles/buildings/16/{x}/{y}.pbf"
    before = mapbox_vector_tile.decode(client.get(url).content)["buildings"]["features"]
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url)
    assert not any("ST_AsMVT" in q["sql"] for q in queries.captured_queries)  # served from the cache
    assert mapbox_vector_tile.decode(again.content)["buildings"]["features"] == before

    with django_capture_on_commit_callbacks(execute=True):
        run_import(path=samples / "invalid_polygons.geojson")
    after = mapbox_vector_tile.decode(client.get(url).content)["buildings"]["features"]
    assert len(after) == len(before) + 3
