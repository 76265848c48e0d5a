"""OGC API - Features at /ogc/ on the demo city: documents, items against what PostGIS holds (counts, paging,
bbox in three CRSs, crs of the answer, property and datetime filters), single items, roles, and the 400s.
Each test names the conformance class it backs (docs/ogc.md lists them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.gis.geos import Point, Polygon
from django.db import connection
from pyproj import Transformer

from apps.assets.conf import public_asset_kinds
from apps.assets.models import UtilityAsset
from apps.buildings.models import Building
from apps.sensors.models import PUBLIC_SENSOR_KINDS, Sensor

pytestmark = pytest.mark.django_db
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"


def _json(client: Any, url: str, status: int = 200) -> dict[str, Any]:
    response = client.get(url, HTTP_ACCEPT="application/json")
    assert response.status_code == status, response.content[:400]
    return json.loads(response.content)


def _all_ids(client: Any, url: str) -> list[int]:
    """Follows the `next` links from url; the ids of every page, in order."""
    ids: list[int] = []
    while url:
        page = _json(client, url)
        assert page["numberReturned"] == len(page["features"])
        ids += [f["id"] for f in page["features"]]
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else ""
    return ids


# --- Part 1 core: landing page, conformance, collections ---------------------------------------------------
def test_landing_page_links_the_api_definition_conformance_and_data(api) -> None:  # noqa: ANN001
    landing = _json(api, "/ogc/")
    rels = {link["rel"]: link for link in landing["links"]}
    assert {"self", "alternate", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"].startswith("application/vnd.oai.openapi+json")
    definition = _json(api, rels["service-desc"]["href"].replace("http://testserver", ""))
    assert definition["openapi"].startswith("3.0")
    items = definition["paths"]["/collections/{collectionId}/items"]["get"]
    limit = next(p for p in items["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 10000 and limit["schema"]["default"] == 10
    assert "(c) OpenStreetMap contributors" in landing["attribution"]


def test_conformance_declares_features_crs_and_tiles(api) -> None:  # noqa: ANN001
    claimed = set(_json(api, "/ogc/conformance")["conformsTo"])
    for cls in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
                "ogcapi-features-1/1.0/conf/html", "ogcapi-features-1/1.0/conf/oas30",
                "ogcapi-features-2/1.0/conf/crs", "ogcapi-tiles-1/1.0/conf/core", "ogcapi-tiles-1/1.0/conf/mvt"):  # fmt: skip
        assert f"http://www.opengis.net/spec/{cls}" in claimed


def _extent(table: str, where: str = "true") -> list[float]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM {table} WHERE {where}) x"
        )
        return list(cursor.fetchone())


def test_collections_carry_extent_crs_and_links(api) -> None:  # noqa: ANN001
    found = {c["id"]: c for c in _json(api, "/ogc/collections")["collections"]}
    assert {"buildings", "road-segments", "road-nodes", "utility-assets", "districts", "sensors"} <= set(found)
    buildings = found["buildings"]
    assert buildings["extent"]["spatial"]["bbox"][0] == pytest.approx(_extent("buildings_building"), abs=1e-7)
    assert (
        buildings["crs"][0] == CRS84 and EPSG.format(3067) in buildings["crs"] and EPSG.format(3857) in buildings["crs"]
    )
    assert buildings["storageCrs"] == CRS84
    rels = {link["rel"] for link in buildings["links"]}
    assert {"self", "items", "http://www.opengis.net/def/rel/ogc/1.0/queryables"} <= rels
    assert _json(api, "/ogc/collections/buildings")["id"] == "buildings"
    assert _json(api, "/ogc/collections/no-such", 404)["code"] == "NotFound"


# --- Part 1 core + geojson: items ---------------------------------------------------------------------------
def test_items_page_through_every_building_once(api) -> None:  # noqa: ANN001
    first = _json(api, "/ogc/collections/buildings/items?limit=100")
    assert first["type"] == "FeatureCollection"
    assert first["numberMatched"] == Building.objects.count() and first["numberReturned"] == 100
    ids = _all_ids(api, "/ogc/collections/buildings/items?limit=100")
    assert ids == sorted(Building.objects.values_list("pk", flat=True))
    default_page = _json(api, "/ogc/collections/buildings/items")
    assert default_page["numberReturned"] == 10


def test_item_properties_and_geometry_match_the_stored_building(api) -> None:  # noqa: ANN001
    building = Building.objects.exclude(name="").order_by("pk").first()
    feature = _json(api, f"/ogc/collections/buildings/items/{building.pk}")
    assert feature["type"] == "Feature" and feature["id"] == building.pk
    assert feature["properties"]["name"] == building.name
    assert feature["properties"]["height_m"] == pytest.approx(building.height_m, abs=1e-3)
    ring = feature["geometry"]["coordinates"][0][0]
    assert ring[0] == pytest.approx(list(building.geom[0][0][0]), abs=1e-7)
    assert _json(api, "/ogc/collections/buildings/items/999999999", 404)["code"] == "NotFound"
    assert _json(api, "/ogc/collections/buildings/items/abc", 404)["code"] == "NotFound"


def test_bbox_selects_the_intersecting_features(api) -> None:  # noqa: ANN001
    box = (24.940, 60.165, 24.945, 60.170)
    expected = sorted(Building.objects.filter(geom__intersects=Polygon.from_bbox(box)).values_list("pk", flat=True))
    assert 0 < len(expected) < Building.objects.count()
    got = _all_ids(api, "/ogc/collections/buildings/items?limit=1000&bbox=" + ",".join(map(str, box)))
    assert got == expected
    # EPSG:4326 is latitude first, as EPSG defines it
    flipped = f"{box[1]},{box[0]},{box[3]},{box[2]}"
    got_4326 = _all_ids(api, f"/ogc/collections/buildings/items?limit=1000&bbox={flipped}&bbox-crs={EPSG.format(4326)}")
    assert got_4326 == expected


def test_bbox_crs_in_the_city_metric_crs(api) -> None:  # noqa: ANN001
    to_metric = Transformer.from_crs(4326, 3067, always_xy=True)
    x0, y0 = to_metric.transform(24.940, 60.165)
    x1, y1 = to_metric.transform(24.945, 60.170)
    box = Polygon.from_bbox((x0, y0, x1, y1))
    box.srid = 3067
    expected = sorted(
        Building.objects.filter(geom__intersects=box.transform(4326, clone=True)).values_list("pk", flat=True)
    )
    url = f"/ogc/collections/buildings/items?limit=1000&bbox={x0},{y0},{x1},{y1}&bbox-crs=EPSG:3067"
    assert _all_ids(api, url) == expected and expected


# --- Part 2: crs of the answer ------------------------------------------------------------------------------
@pytest.mark.parametrize("srid", [3067, 3857])
def test_crs_transforms_the_geometry_in_postgis_as_pyproj_does(api, srid: int) -> None:  # noqa: ANN001
    response = api.get(f"/ogc/collections/buildings/items?limit=20&crs={EPSG.format(srid)}")
    assert response.status_code == 200
    assert response["Content-Crs"] == f"<{EPSG.format(srid)}>"
    page = json.loads(response.content)
    assert page["crs"]["properties"]["name"] == f"urn:ogc:def:crs:EPSG::{srid}"
    transformer = Transformer.from_crs(4326, srid, always_xy=True)
    for feature in page["features"]:
        stored = Building.objects.get(pk=feature["id"]).geom[0][0]
        for (lon, lat), (x, y) in zip(stored, feature["geometry"]["coordinates"][0][0], strict=True):
            ex, ey = transformer.transform(lon, lat)
            assert (x, y) == pytest.approx((ex, ey), abs=0.002)  # millimetres, rounded


def test_crs_4326_is_latitude_first_and_crs84_is_the_default(api) -> None:  # noqa: ANN001
    building = Building.objects.order_by("pk").first()
    default = api.get(f"/ogc/collections/buildings/items/{building.pk}")
    assert default["Content-Crs"] == f"<{CRS84}>"
    lat_first = _json(api, f"/ogc/collections/buildings/items/{building.pk}?crs=EPSG:4326")
    lon, lat = building.geom[0][0][0]
    assert lat_first["geometry"]["coordinates"][0][0][0] == pytest.approx([lat, lon], abs=1e-7)


# --- filters: properties (queryables) and datetime ----------------------------------------------------------
def test_property_filters_match_the_orm(api) -> None:  # noqa: ANN001
    expected = sorted(Building.objects.filter(use="residential").values_list("pk", flat=True))
    assert _all_ids(api, "/ogc/collections/buildings/items?limit=1000&use=residential") == expected and expected
    levels = Building.objects.exclude(levels=None).values_list("levels", flat=True).first()
    expected = sorted(Building.objects.filter(levels=levels).values_list("pk", flat=True))
    assert _all_ids(api, f"/ogc/collections/buildings/items?limit=1000&levels={levels}") == expected
    queryables = _json(api, "/ogc/collections/buildings/queryables")
    assert queryables["properties"]["levels"]["type"] == "integer"
    assert queryables["properties"]["height_m"]["type"] == "number"
    assert queryables["additionalProperties"] is False


def test_datetime_filters_on_the_sensors_installation_time(api) -> None:  # noqa: ANN001
    made = [
        Sensor.objects.create(code=f"ogc-dt-{i}", kind="traffic", geom=Point(24.94, 60.17, srid=4326), source="test",
                              source_id=f"ogc-dt-{i}", installed_at=datetime(2024, month, 1, tzinfo=UTC))
        for i, month in enumerate((3, 6, 9))
    ]  # fmt: skip
    got = _all_ids(api, "/ogc/collections/sensors/items?limit=1000&datetime=2024-05-01T00:00:00Z/2024-10-01T00:00:00Z")
    assert got == [made[1].pk, made[2].pk]
    assert _all_ids(api, "/ogc/collections/sensors/items?limit=1000&datetime=../2024-04-01T00:00:00Z") == [made[0].pk]
    assert _all_ids(api, "/ogc/collections/sensors/items?limit=1000&datetime=2024-06-01T00:00:00Z") == [made[1].pk]
    extent = _json(api, "/ogc/collections/sensors")["extent"]
    assert extent["temporal"]["interval"][0][0].startswith("2024-03-01")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("limit=0", "limit"), ("limit=ten", "limit"), ("offset=-1", "offset"), ("bbox=1,2,3", "bbox"),
        ("bbox=24.95,60.1,24.94,60.2", "lower"), ("bbox=24,60,nan,61", "bbox"), ("bbox=-200,60,24,61", "range"),
        ("crs=EPSG:2000", "not offered"), ("crs=http://example.com/crs", "not offered"),
        ("bbox-crs=EPSG:3067", "without a bbox"), ("datetime=yesterday", "datetime"),
        ("datetime=2024-01-01T00:00:00/..", "time zone"), ("datetime=2024-02-01/2024-01-01", "after its end"),
        ("levels=three", "levels"), ("colour=red", "unknown query parameter 'colour'"), ("f=xml", "f="),
    ],
)  # fmt: skip
def test_bad_parameters_are_400s_that_say_why(api, query: str, says: str) -> None:  # noqa: ANN001
    body = _json(api, f"/ogc/collections/buildings/items?{query}", 400)
    assert body["code"] == "InvalidParameterValue"
    assert says in body["description"]


# --- HTML ---------------------------------------------------------------------------------------------------
def test_html_views_of_landing_collections_items_and_item(api) -> None:  # noqa: ANN001
    building = Building.objects.exclude(name="").order_by("pk").first()
    for url, text in (("/ogc/", "Collections"), ("/ogc/collections", "Buildings"), ("/ogc/conformance", "ogcapi-features-2"),
                      ("/ogc/collections/buildings", "height_m"), ("/ogc/api", "/collections/{collectionId}/items"),
                      ("/ogc/collections/buildings/items?limit=5", "Next"),
                      (f"/ogc/collections/buildings/items/{building.pk}", building.name)):  # fmt: skip
        response = api.get(url, HTTP_ACCEPT="text/html,application/xhtml+xml")
        assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
        assert text in response.content.decode()
    assert api.get("/ogc/collections?f=html")["Content-Type"].startswith("text/html")
    assert api.get("/ogc/collections?f=json", HTTP_ACCEPT="text/html")["Content-Type"] == "application/json"


# --- roles --------------------------------------------------------------------------------------------------
def test_the_public_sees_public_kinds_and_staff_see_everything(api, api_as, operator) -> None:  # noqa: ANN001
    public = _all_ids(api, "/ogc/collections/utility-assets/items?limit=10000")
    assert public == sorted(UtilityAsset.objects.filter(kind__in=public_asset_kinds()).values_list("pk", flat=True))
    staff = api_as(operator)
    assert _all_ids(staff, "/ogc/collections/utility-assets/items?limit=10000") == sorted(
        UtilityAsset.objects.values_list("pk", flat=True)
    )
    meter = Sensor.objects.create(code="ogc-meter", kind="energy", geom=Point(24.94, 60.17, srid=4326),
                                  source="test", source_id="ogc-meter")  # fmt: skip
    open_ids = _all_ids(api, "/ogc/collections/sensors/items?limit=10000")
    assert meter.pk not in open_ids
    assert open_ids == sorted(Sensor.objects.filter(kind__in=PUBLIC_SENSOR_KINDS).values_list("pk", flat=True))
    assert _json(api, f"/ogc/collections/sensors/items/{meter.pk}", 404)["code"] == "NotFound"
    assert _json(api, "/ogc/collections/sensors/items?kind=energy")["numberMatched"] == 0
    assert _json(staff, f"/ogc/collections/sensors/items/{meter.pk}")["properties"]["kind"] == "energy"
    # extents are per audience: a staff-only asset far away must not widen the public's extent
    public_extent = _json(api, "/ogc/collections/utility-assets")["extent"]["spatial"]["bbox"][0]
    assert public_extent == pytest.approx(
        _extent("assets_utilityasset", "kind IN ('" + "','".join(public_asset_kinds()) + "')"), abs=1e-7
    )
