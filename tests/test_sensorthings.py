"""SensorThings API (apps/sensorthings): the entity sets, each query option, the $filter grammar and the
400s, asserted against what the database holds (tests/sta_world.py). Roles and real clients:
tests/test_sensorthings_access.py."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection, transaction

from apps.sensors.models import Sensor
from apps.telemetry.catalog import properties_of
from apps.telemetry.models import Reading, Rollup
from tests.sta_world import BOX, START, STEPS, world_fixture  # noqa: F401 - the module's world fixture

pytestmark = pytest.mark.django_db
BASE = "/sta/v1.1/"


def get(api: Any, path: str, status: int = 200, **params: str) -> Any:
    response = api.get(BASE + path, params)
    assert response.status_code == status, response.content[:500]
    return response.json()


def every(api: Any, path: str, **params: str) -> list[dict[str, Any]]:
    """A whole collection, following @iot.nextLink."""
    body = get(api, path, **params)
    found = list(body["value"])
    while "@iot.nextLink" in body:
        response = api.get(body["@iot.nextLink"])
        assert response.status_code == 200
        body = response.json()
        found += body["value"]
    return found


def public_ids(**filters: Any) -> set[int]:
    return set(Sensor.objects.visible_to(AnonymousUser()).filter(**filters).values_list("id", flat=True))


# --- the root and the entities ---------------------------------------------------------------------------------
def test_the_root_lists_every_entity_set_and_the_conformance(api) -> None:  # noqa: ANN001
    body = get(api, "")
    names = {s["name"] for s in body["value"]}
    assert {"Things", "Locations", "Sensors", "ObservedProperties", "Datastreams", "Observations"} <= names
    assert "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data" in body["serverSettings"]["conformance"]
    for entity_set in body["value"]:
        assert api.get(entity_set["url"] + "?$top=1").status_code == 200


def test_a_thing_has_its_id_links_and_properties(api, world) -> None:  # noqa: ANN001
    sensor = world["sensors"]["sta-t1"]
    thing = get(api, f"Things({sensor.pk})")
    assert thing["@iot.id"] == sensor.pk and thing["@iot.selfLink"].endswith(f"/sta/v1.1/Things({sensor.pk})")
    assert thing["name"] == sensor.name and thing["properties"]["code"] == "sta-t1"
    assert thing["properties"]["roadSegment"] == sensor.road_segment_id
    assert thing["Datastreams@iot.navigationLink"].endswith(f"Things({sensor.pk})/Datastreams")
    location = get(api, f"Things({sensor.pk})/Locations")["value"][0]
    assert location["encodingType"] == "application/geo+json"
    assert location["location"]["coordinates"] == pytest.approx([sensor.geom.x, sensor.geom.y])


def test_datastreams_of_a_thing_are_its_catalog_properties_raw_and_hourly(api, world) -> None:  # noqa: ANN001
    sensor = world["sensors"]["sta-a1"]
    found = every(api, f"Things({sensor.pk})/Datastreams", **{"$top": "3"})  # pages of 3 via nextLink
    ids = [d["@iot.id"] for d in found]
    expected = {f"{sensor.pk}:{p}{h}" for p in properties_of("air_quality") for h in ("", ":hourly")}
    assert len(ids) == len(set(ids)) and set(ids) == expected
    pm = next(d for d in found if d["@iot.id"] == f"{sensor.pk}:pm2_5")
    assert pm["unitOfMeasurement"]["symbol"] == "µg/m³" and pm["unitOfMeasurement"]["definition"].startswith("http")
    assert pm["observationType"].endswith("OM_Measurement")
    last = START + timedelta(minutes=15 * (STEPS - 1))
    assert pm["phenomenonTime"] == f"{START:%Y-%m-%dT%H:%M:%SZ}/{last:%Y-%m-%dT%H:%M:%SZ}"
    assert pm["observedArea"]["coordinates"] == pytest.approx([sensor.geom.x, sensor.geom.y])


def test_observations_are_the_stored_readings(api, world) -> None:  # noqa: ANN001
    sensor = world["sensors"]["sta-a1"]
    found = every(api, f"Datastreams('{sensor.pk}:pm2_5')/Observations", **{"$orderby": "phenomenonTime asc"})
    readings = Reading.objects.filter(sensor=sensor).order_by("time")
    assert [(o["phenomenonTime"], o["result"]) for o in found] == [
        (r.time.isoformat().replace("+00:00", "Z"), r.values["pm2_5"]) for r in readings
    ]
    first = get(api, f"Observations('{found[0]['@iot.id']}')")
    assert first["result"] == found[0]["result"] and first["resultTime"] == found[0]["phenomenonTime"]
    assert get(api, f"Observations('{found[0]['@iot.id']}')/Datastream")["@iot.id"] == f"{sensor.pk}:pm2_5"


def test_hourly_datastreams_are_the_rollups_with_the_property_aggregate(api, world) -> None:  # noqa: ANN001
    sensor = world["sensors"]["sta-t1"]
    for prop, aggregate in (("vehicle_count", "sum"), ("mean_speed_kmh", "mean")):
        found = get(api, f"Datastreams('{sensor.pk}:{prop}:hourly')/Observations", **{"$orderby": "phenomenonTime"})
        rollups = Rollup.objects.filter(sensor=sensor, property=prop, resolution="1h").order_by("bucket")
        assert len(found["value"]) == rollups.count() > 0
        for observation, rollup in zip(found["value"], rollups, strict=True):
            want = rollup.total if aggregate == "sum" else rollup.total / rollup.n
            assert observation["result"] == pytest.approx(want)
            assert observation["parameters"] == {"min": rollup.minimum, "max": rollup.maximum, "count": rollup.n}
            end = rollup.bucket + timedelta(hours=1)
            assert observation["phenomenonTime"] == f"{rollup.bucket:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"


# --- query options -------------------------------------------------------------------------------------------
def test_top_skip_count_and_next_link(api, world) -> None:  # noqa: ANN001
    sensor = world["sensors"]["sta-t2"]
    path = f"Datastreams('{sensor.pk}:mean_speed_kmh')/Observations"
    first = get(api, path, **{"$top": "3", "$count": "true"})
    assert first["@iot.count"] == Reading.objects.filter(sensor=sensor).count() == STEPS
    assert len(first["value"]) == 3 and "$skip=3" in first["@iot.nextLink"]
    skipped = get(api, path, **{"$top": "3", "$skip": "3"})
    assert [o["@iot.id"] for o in skipped["value"]] == [o["@iot.id"] for o in every(api, path)[3:6]]
    last = get(api, path, **{"$skip": str(STEPS - 1)})
    assert len(last["value"]) == 1 and "@iot.nextLink" not in last
    counted = get(api, "Things", **{"$count": "true", "$top": "0"})
    assert counted["@iot.count"] == len(public_ids()) and "@iot.nextLink" not in counted  # no endless paging


def test_orderby_several_keys_and_directions(api, world) -> None:  # noqa: ANN001
    found = every(api, "Datastreams", **{"$orderby": "name desc,@iot.id asc", "$top": "500"})
    keys = [(d["name"], d["@iot.id"]) for d in found]
    assert keys == sorted(keys, key=lambda k: (_desc(k[0]), k[1]))
    sensor = world["sensors"]["sta-t1"]
    results = [o["result"] for o in every(api, f"Datastreams('{sensor.pk}:vehicle_count')/Observations",
                                          **{"$orderby": "result desc"})]  # fmt: skip
    assert results == sorted(results, reverse=True) and len(results) == STEPS
    newest_first = [
        o["phenomenonTime"] for o in get(api, f"Datastreams('{sensor.pk}:vehicle_count')/Observations")["value"]
    ]
    assert newest_first == sorted(newest_first, reverse=True)  # the default order of Observations


def _desc(text: str) -> list[int]:
    return [-ord(c) for c in text] + [1]  # a shorter name sorts after its longer extensions in desc


def test_select_returns_only_the_named_properties(api, world) -> None:  # noqa: ANN001
    thing = get(api, f"Things({world['ids']['sta-t1']})", **{"$select": "name,Datastreams"})
    assert set(thing) == {"name", "Datastreams@iot.navigationLink"}
    listed = get(api, "Things", **{"$select": "@iot.id", "$top": "2"})["value"]
    assert all(set(t) == {"@iot.id", "@iot.selfLink"} for t in listed)


def test_expand_nested_with_its_own_options(api, world) -> None:  # noqa: ANN001
    sensor = world["sensors"]["sta-a1"]
    thing = get(api, f"Things({sensor.pk})",
                **{"$expand": "Datastreams($select=name;$top=2;$count=true;$orderby=name),Locations"})  # fmt: skip
    assert len(thing["Datastreams"]) == 2 and all(set(d) == {"name"} for d in thing["Datastreams"])
    assert thing["Datastreams@iot.count"] == 2 * len(properties_of("air_quality"))
    assert "Datastreams@iot.nextLink" in thing
    assert [d["name"] for d in thing["Datastreams"]] == sorted(d["name"] for d in thing["Datastreams"])
    assert thing["Locations"][0]["location"]["coordinates"] == pytest.approx([sensor.geom.x, sensor.geom.y])
    stream = get(api, f"Datastreams('{sensor.pk}:no2')",
                 **{"$expand": "Observations($top=3;$orderby=phenomenonTime asc),ObservedProperty,Thing/Locations"})  # fmt: skip
    times = [r.time for r in Reading.objects.filter(sensor=sensor).order_by("time")[:3]]
    assert [o["phenomenonTime"] for o in stream["Observations"]] == [
        t.isoformat().replace("+00:00", "Z") for t in times
    ]
    assert stream["ObservedProperty"]["@iot.id"] == "no2" and stream["Thing"]["Locations"][0]["@iot.id"] == sensor.pk


def test_expand_top_applies_per_parent(api, world) -> None:  # noqa: ANN001
    ids = [world["ids"]["sta-t1"], world["ids"]["sta-t2"]]
    body = get(api, "Things", **{"$filter": f"id eq {ids[0]} or id eq {ids[1]}",
                                 "$expand": "Datastreams($top=1;$expand=Observations($top=2))"})  # fmt: skip
    assert sorted(t["@iot.id"] for t in body["value"]) == sorted(ids)
    for thing in body["value"]:
        assert len(thing["Datastreams"]) == 1 and len(thing["Datastreams"][0]["Observations"]) == 2
        assert thing["Datastreams"][0]["@iot.id"].startswith(f"{thing['@iot.id']}:")


def test_property_value_and_ref_paths(api, world) -> None:  # noqa: ANN001
    sensor = world["sensors"]["sta-t1"]
    assert get(api, f"Things({sensor.pk})/name") == {"name": sensor.name}
    response = api.get(f"{BASE}Things({sensor.pk})/name/$value")
    assert response.status_code == 200 and response.content.decode() == sensor.name
    refs = get(api, f"Things({sensor.pk})/Datastreams/$ref", **{"$top": "2"})["value"]
    assert len(refs) == 2 and all(set(r) == {"@iot.selfLink"} for r in refs)


# --- $filter ---------------------------------------------------------------------------------------------------
def test_filter_phenomenon_time_range_and_logic(api, world) -> None:  # noqa: ANN001
    sensor = world["sensors"]["sta-t1"]
    start, end = START + timedelta(minutes=15), START + timedelta(minutes=75)
    text = (f"phenomenonTime ge {start:%Y-%m-%dT%H:%M:%SZ} and phenomenonTime lt {end:%Y-%m-%dT%H:%M:%SZ} "
            f"and (result gt 0 or not (result le 0))")  # fmt: skip
    found = every(api, f"Datastreams('{sensor.pk}:vehicle_count')/Observations", **{"$filter": text})
    assert len(found) == Reading.objects.filter(sensor=sensor, time__gte=start, time__lt=end).count() == 4
    quoted = f"phenomenonTime ge '{start:%Y-%m-%dT%H:%M:%SZ}' and phenomenonTime lt '{end:%Y-%m-%dT%H:%M:%SZ}'"
    assert every(api, f"Datastreams('{sensor.pk}:vehicle_count')/Observations", **{"$filter": quoted}) == found


def test_filter_through_navigation_paths(api, world) -> None:  # noqa: ANN001
    sensor = world["sensors"]["sta-a1"]
    text = f"Datastream/ObservedProperty/name eq 'pm10' and Datastream/Thing/@iot.id eq {sensor.pk}"
    found = every(api, "Observations", **{"$filter": text})
    assert {o["@iot.id"].rsplit(":", 1)[0] for o in found} == {f"{sensor.pk}:pm10", f"{sensor.pk}:pm10:hourly"}
    assert len(found) == STEPS + Rollup.objects.filter(sensor=sensor, property="pm10").count()
    streams = every(api, "Datastreams", **{"$filter": "Thing/properties/kind eq 'air_quality' and "
                                                        "ObservedProperty/@iot.id eq 'o3'"})  # fmt: skip
    expected = {f"{pk}:o3{h}" for pk in public_ids(kind="air_quality") for h in ("", ":hourly")}
    assert {d["@iot.id"] for d in streams} == expected


def test_filter_st_within_and_st_intersects_a_wkt_polygon(api, world) -> None:  # noqa: ANN001
    box = GEOSGeometry(BOX, srid=4326)
    inside = public_ids(geom__within=box)
    assert world["ids"]["sta-t1"] in inside and world["ids"]["sta-t2"] not in inside
    found = every(api, "Things", **{"$filter": f"st_within(Locations/location, geography'{BOX}')"})
    assert {t["@iot.id"] for t in found} == inside
    located = every(api, "Locations", **{"$filter": f"st_intersects(location, geometry'{BOX}')"})
    assert {loc["@iot.id"] for loc in located} == inside
    outside = every(api, "Things", **{"$filter": f"not st_within(Locations/location, geography'{BOX}')"})
    assert {t["@iot.id"] for t in outside} == public_ids() - inside


def test_filter_strings_numbers_and_json_properties(api, world) -> None:  # noqa: ANN001
    found = every(api, "Things", **{"$filter": "startswith(name, 'STA ') and properties/code ne 'sta-t2'"})
    assert {t["@iot.id"] for t in found} == {world["ids"]["sta-t1"], world["ids"]["sta-a1"]}
    sensor = world["sensors"]["sta-t2"]
    top = max(r.values["occupancy_pct"] for r in Reading.objects.filter(sensor=sensor))
    found = every(api, f"Datastreams('{sensor.pk}:occupancy_pct')/Observations", **{"$filter": f"result eq {top}"})
    assert [o["result"] for o in found] == [top]


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("Things", {"$filter": "name eq"}, "ends where an operand was expected"),
        ("Things", {"$filter": "nme eq 'x'"}, "Thing has no property 'nme' (character 1)"),
        ("Things", {"$filter": "(name eq 'x'"}, "expected ')' to close the parenthesis opened at character 1"),
        ("Things", {"$filter": "name eq 'open"}, "unterminated string starting at character 9"),
        ("Things", {"$filter": "name eq 'x' foo"}, "unexpected 'foo' at character 13"),
        ("Things", {"$filter": "name"}, "is not a condition"),
        ("Things", {"$filter": "Datastreams eq 1"}, "is a navigation property"),
        ("Observations", {"$filter": "phenomenonTime gt 'yesterday'"}, "cannot compare phenomenonTime (datetime)"),
        ("Observations", {"$filter": "phenomenonTime gt 2026-13-45T00:00:00Z"}, "is not a valid date and time"),
        (
            "Locations",
            {"$filter": "st_within(location, geography'POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))')"},
            "is not valid",
        ),
        ("Locations", {"$filter": "st_within(location, geography'CIRCLE(1 2)')"}, "is not a WKT geometry"),
        ("Locations", {"$filter": "st_within(name, geography'POINT(1 2)')"}, "needs geometries; name is string"),
        ("Locations", {"$filter": "st_within(location)"}, "st_within takes 2 argument(s), got 1"),
        ("Things", {"$top": "-1"}, "$top must be a non-negative integer"),
        ("Things", {"$top": "20000"}, "$top may be at most 10000"),
        ("Things", {"$orderby": "nope desc"}, "Thing has no property 'nope' to order by"),
        ("Things", {"$orderby": "name sideways"}, "expected 'property [asc|desc]'"),
        ("Things", {"$select": "nope"}, "Thing has no property 'nope'"),
        ("Things", {"$expand": "Nope"}, "Thing has no navigation property 'Nope'"),
        ("Things", {"$expand": "Datastreams($top=x)"}, "$expand(Datastreams)/$top must be a non-negative integer"),
        ("Things", {"$count": "yes"}, "$count must be true or false"),
        ("Things", {"$foo": "1"}, "unknown query option '$foo'"),
        ("Datastreams", {"$filter": "phenomenonTime gt 2026-01-01T00:00:00Z"}, "cannot be filtered on"),
    ],
)
def test_bad_input_is_a_400_that_says_what(api, path: str, params: dict[str, str], message: str) -> None:  # noqa: ANN001
    body = get(api, path, status=400, **params)
    assert body["code"] == "invalid_query" and message in body["detail"], body


def test_unknown_sets_and_ids_are_404(api) -> None:  # noqa: ANN001
    assert api.get(BASE + "Widgets").status_code == 404
    assert api.get(BASE + "Things(999999999)").status_code == 404
    assert api.get(BASE + "Datastreams('not-an-id')").status_code == 404
    assert api.get(BASE + quote("Observations('1:pm2_5:99999999999999999999')")).status_code == 404


def test_observations_of_a_datastream_are_read_in_index_order_not_sorted(world) -> None:  # noqa: ANN001
    """The plan of a Datastream's newest Observations has no Sort (with sorting disabled, the planner
    would still sort if the relation could not be read in time order through the (sensor, time) index)."""
    from apps.sensorthings import query
    from apps.sensorthings.entities import BY_PLURAL, Ctx
    from apps.sensorthings.options import Options

    plans: list[str] = []
    original = query._fetch

    def explained(sql: str, params: list[Any]) -> list[dict[str, Any]]:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        return original(sql, params)

    sensor = world["sensors"]["sta-t1"]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        query._fetch = explained  # type: ignore[assignment]
        try:
            found = query.page(BY_PLURAL["Observations"], Ctx.for_user(AnonymousUser()), Options(top=3),
                               {"sensor_id": sensor.pk, "property": "vehicle_count", "hourly": False})  # fmt: skip
        finally:
            query._fetch = original  # type: ignore[assignment]
    assert len(found.rows) == 3
    assert not re.search(r"(^|->)\s*(Incremental )?Sort\s+\(", plans[0], re.MULTILINE), plans[0]
    assert "Index Scan Backward using telemetry_reading" in plans[0], plans[0]
