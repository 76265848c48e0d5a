"""The GeoJSON API on the demo city: counts checked against the source, bbox, filters, pagination, roles."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from apps.assets.conf import public_asset_kinds
from apps.assets.models import UtilityAsset
from apps.buildings.models import Building
from apps.roads.models import RoadSegment
from apps.sensors.models import Sensor

pytestmark = pytest.mark.django_db
HELSINKI_BBOX = "24.9351762,60.164155,24.9534145,60.179113"  # the PBF header's bounding box


def _extent() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM buildings_building) x"
        )
        return ",".join(str(v) for v in cursor.fetchone())


def _get(api, url: str):  # noqa: ANN001
    response = api.get(url)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/geo+json"
    return json.loads(response.content)


@pytest.mark.parametrize(
    ("endpoint", "model"),
    [("buildings", Building), ("road-segments", RoadSegment)],
)
def test_bbox_of_the_whole_city_returns_every_feature(api, endpoint: str, model) -> None:  # noqa: ANN001
    data = _get(api, f"/api/{endpoint}/?bbox={HELSINKI_BBOX}&limit=10000")

    assert data["type"] == "FeatureCollection"
    assert data["count"] == model.objects.count() == len(data["features"]) > 400
    assert {f["id"] for f in data["features"]} == set(model.objects.values_list("id", flat=True))


def test_street_lamps_by_kind(api) -> None:  # noqa: ANN001
    data = _get(api, f"/api/utility-assets/?bbox={HELSINKI_BBOX}&kind=street_lamp&limit=10000")

    assert data["count"] == UtilityAsset.objects.filter(kind="street_lamp").count() == 586
    assert {f["properties"]["kind"] for f in data["features"]} == {"street_lamp"}
    assert all(f["geometry"]["type"] == "Point" for f in data["features"])


def test_bbox_selects_only_intersecting_features(api) -> None:  # noqa: ANN001
    small = "24.944,60.168,24.946,60.170"
    data = _get(api, f"/api/buildings/?bbox={small}&limit=10000")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM buildings_building WHERE ST_Intersects(geom, ST_MakeEnvelope(24.944,60.168,24.946,60.170,4326))"
        )
        expected = cursor.fetchone()[0]
    assert 0 < data["count"] == expected < Building.objects.count()


def test_feature_properties_and_geometry_round_trip(api) -> None:  # noqa: ANN001
    building = Building.objects.filter(height_source="height").first()
    data = _get(api, f"/api/buildings/?bbox={_extent()}&limit=10000")
    feature = next(f for f in data["features"] if f["id"] == building.id)

    assert feature["properties"]["height_m"] == building.height_m
    assert feature["properties"]["source_id"] == building.source_id
    assert feature["geometry"]["type"] == "MultiPolygon"
    from django.contrib.gis.geos import GEOSGeometry

    assert GEOSGeometry(json.dumps(feature["geometry"])).equals_exact(building.geom, 1e-6)


def test_pagination_walks_every_feature_once(api) -> None:  # noqa: ANN001
    seen: list[int] = []
    url = "/api/buildings/?limit=200"
    pages = 0
    while url:
        data = _get(api, url)
        seen += [f["id"] for f in data["features"]]
        url = data["next"]
        pages += 1
        assert data["count"] == Building.objects.count()
    assert pages == 3 and len(seen) == len(set(seen)) == Building.objects.count()


def test_filters(api) -> None:  # noqa: ANN001
    data = _get(api, "/api/road-segments/?highway=primary,secondary&limit=10000")
    assert data["count"] == RoadSegment.objects.filter(highway__in=["primary", "secondary"]).count() > 0
    assert {f["properties"]["highway"] for f in data["features"]} == {"primary", "secondary"}
    tall = _get(api, "/api/buildings/?min_height=30&limit=10000")
    assert tall["count"] == Building.objects.filter(height_m__gte=30).count()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("bbox=abc", "four comma-separated numbers"),
        ("bbox=1,2,3", "four comma-separated numbers"),
        ("bbox=25,60,24,61", "minlon < maxlon"),
        ("bbox=0,-95,1,1", "WGS 84"),
        ("bbox=nan,1,2,3", "finite"),
        ("bbox=1_0,1,20,3", "plain decimal numbers"),
        ("bbox=", "four comma-separated numbers"),
        ("limit=abc", "whole number from 1"),
        ("limit=0", "whole number from 1"),
        ("offset=-1", "whole number from 0"),
        ("offset=657134302012006696222720", "whole number from 0 to 2147483647"),
        ("min_height=high", "Enter a number"),
        ("height_source=", "must not be empty"),
    ],
)
def test_bad_parameters_are_400_with_a_message(api, query: str, message: str) -> None:  # noqa: ANN001
    response = api.get(f"/api/buildings/?{query}")
    assert response.status_code == 400
    body = response.json()
    name = query.split("=")[0]
    assert body["code"] == "invalid" and message in body["errors"][name][0] and name in body["detail"]


def test_list_queries_are_pinned(api, django_assert_num_queries) -> None:  # noqa: ANN001
    # One statement counts and renders the whole page in PostGIS, whatever the page size.
    with django_assert_num_queries(1):
        api.get("/api/road-segments/?limit=5000")
    with django_assert_num_queries(1):
        api.get("/api/utility-assets/?limit=5000")


def test_clients_may_ask_for_geojson_explicitly(api) -> None:  # noqa: ANN001
    response = api.get("/api/districts/", HTTP_ACCEPT="application/geo+json")
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"


def test_detail(api) -> None:  # noqa: ANN001
    segment = RoadSegment.objects.exclude(name="").first()
    data = api.get(f"/api/road-segments/{segment.pk}/").json()
    assert data["properties"]["name"] == segment.name and data["geometry"]["type"] == "LineString"


def test_public_sees_only_public_asset_kinds_staff_sees_all(api, api_as, planner) -> None:  # noqa: ANN001
    hidden = UtilityAsset.objects.exclude(kind__in=public_asset_kinds())
    assert hidden.exists()  # the demo city has pipelines, a substation, power lines
    public = _get(api, "/api/utility-assets/?limit=10000")
    assert public["count"] == UtilityAsset.objects.filter(kind__in=public_asset_kinds()).count()
    assert not {f["properties"]["kind"] for f in public["features"]} - public_asset_kinds()
    assert api.get(f"/api/utility-assets/{hidden.first().pk}/").status_code == 404

    staff = _get(api_as(planner), "/api/utility-assets/?limit=10000")
    assert staff["count"] == UtilityAsset.objects.count()


def test_energy_meters_are_never_public(api, api_as, operator, samples) -> None:  # noqa: ANN001
    from apps.imports.services import run_import

    run_import(path=samples / "sensors.csv")
    public = _get(api, "/api/sensors/?limit=1000")
    assert {f["properties"]["kind"] for f in public["features"]} == {"traffic", "air_quality"}
    assert api.get("/api/sensors/hel-energy-001/").status_code == 404
    assert _get(api_as(operator), "/api/sensors/?kind=energy")["count"] == Sensor.objects.filter(kind="energy").count()
    assert Sensor.objects.filter(kind="energy", source="sensors").count() == 2


def test_the_api_is_read_only_for_everyone_but_editors(api, api_as, planner) -> None:  # noqa: ANN001
    building = Building.objects.first()
    for client in (api, api_as(planner)):
        assert client.delete(f"/api/buildings/{building.pk}/").status_code in (401, 403)
        assert client.post("/api/buildings/", {}, format="json").status_code in (401, 403)
    assert Building.objects.filter(pk=building.pk).exists()


def test_import_reports_are_for_editors_only(api, api_as, planner, gis_staff, samples) -> None:  # noqa: ANN001
    from apps.imports.services import run_import

    run = run_import(path=samples / "districts.geojson", dry_run=True).run
    assert api.get(f"/api/imports/{run.pk}/").status_code in (401, 403)
    assert api_as(planner).get(f"/api/imports/{run.pk}/").status_code == 403
    report = api_as(gis_staff).get(f"/api/imports/{run.pk}/").json()
    assert report["counts"]["districts"]["created"] == 2 and report["dry_run"] is True


def test_openapi_schema_and_docs_are_served_without_cdn(api) -> None:  # noqa: ANN001
    schema = api.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/buildings/",
        "/api/road-segments/",
        "/api/road-nodes/",
        "/api/utility-assets/",
        "/api/districts/",
        "/api/sensors/",
    ):
        assert path in paths
    params = {p["name"] for p in paths["/api/buildings/"]["get"]["parameters"]}
    assert {"bbox", "limit", "offset", "use"} <= params
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn." not in html and "https://" not in html.split("<body")[0]
    import re

    # No inline script (the CSP forbids it): every <script> has a src on our own origin.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all('src="/' in attrs and not body.strip() for attrs, body in scripts)


@pytest.fixture
def sensor(db) -> Sensor:  # noqa: ANN001
    from django.contrib.gis.geos import Point

    return Sensor.objects.create(
        code="api-aq-1", kind="air_quality", geom=Point(24.945, 60.169, srid=4326), source="test", source_id="api-aq-1"
    )


@pytest.mark.parametrize(
    ("url", "status"),
    [
        # Each answered 500 (or let a bad value through) before: found by schemathesis (tests/test_openapi.py).
        ("/api/districts/?admin_level=-628225208630", 200),  # beyond the column: nothing matches
        ("/api/road-nodes/?osm_id=657134302012006696222720", 200),
        ("/api/road-segments/?highway=primary%00x", 400),  # PostgreSQL refuses NUL in text
        ("/api/utility-assets/?kind=a,%00", 400),
        ("/api/road-segments/?from_node=0", 200),  # a foreign key by id: no such node selects nothing
        ("/api/sensors/?building=0", 200),
        ("/api/road-nodes/?traffic_signals=maybe", 400),  # not read as "unknown" (no filter)
        ("/api/road-segments/?osm_way_id=0.5", 400),
        ("/api/road-segments/?oneway=", 400),
        ("/api/buildings/?max_height=8.2e235", 200),  # a float column takes any finite float
        ("/api/sensors/api-aq-1/readings/?end=0001-01-01T00:00:00Z", 400),  # the default start underflows
        ("/api/sensors/api-aq-1/readings/?start=2026-11-23T07:00:00%2B20:00&end=2026-11-23T09:00:00%2B20:00", 200),
        ("/api/sensors/api-aq-1/readings/?start=9999-12-31T23:00:00-20:00", 400),
    ],
)
def test_hostile_parameters_get_a_clear_answer_never_a_500(api, sensor, url: str, status: int) -> None:  # noqa: ANN001
    api.raise_request_exception = False
    response = api.get(url)
    assert response.status_code == status, response.content[:300]
    if status == 400:
        assert response.json()["code"] == "invalid" and response.json()["errors"]
    elif "readings" not in url:
        assert json.loads(response.content)["count"] == 0 or "max_height" in url
