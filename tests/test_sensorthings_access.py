"""SensorThings API: who sees what (anonymous visitors never an energy meter, in any entity set, through any
navigation, $expand or $filter; staff roles see them, by session or token), read-only for everyone, and a
real client (frost-sta-client) reading Things, Datastreams and Observations from the live server."""

from __future__ import annotations

from typing import Any

import frost_sta_client as fsc
import pytest
import requests
from django.contrib.auth.models import AnonymousUser

from apps.accounts.models import Role, User
from apps.accounts.services import create_user
from apps.sensors.models import Sensor
from apps.telemetry.models import Reading
from tests.conftest import in_thread
from tests.sta_world import START, STEPS, world_fixture  # noqa: F401 - the module's world fixture

pytestmark = pytest.mark.django_db
BASE = "/sta/v1.1/"


def _meter_paths(world: dict[str, Any]) -> list[str]:
    pk = world["ids"]["sta-e1"]
    observation = f"{pk}:active_power_kw:{int(START.timestamp() * 1_000_000)}"
    return [
        f"Things({pk})", f"Locations({pk})", f"Sensors({pk})", f"FeaturesOfInterest({pk})",
        f"Things({pk})/Datastreams", f"Datastreams('{pk}:active_power_kw')",
        f"Datastreams('{pk}:energy_kwh:hourly')/Observations", f"Observations('{observation}')",
        f"Observations('{observation}')/Datastream", f"Locations({pk})/Things",
    ]  # fmt: skip


def _all_meter_ids() -> set[int]:
    return set(Sensor.objects.filter(kind="energy").values_list("id", flat=True))


def _sensor_of(entity_id: Any) -> int:
    return int(str(entity_id).split(":")[0])


def test_anonymous_never_sees_an_energy_meter(api, world) -> None:  # noqa: ANN001
    for path in _meter_paths(world):
        response = api.get(BASE + path)
        assert response.status_code == 404, (path, response.status_code)
    meters = _all_meter_ids()
    assert world["ids"]["sta-e1"] in meters
    seen: set[int] = set()
    for path, params in [
        ("Things", {"$top": "10000"}), ("Locations", {"$top": "10000"}), ("Sensors", {"$top": "10000"}),
        ("FeaturesOfInterest", {"$top": "10000"}), ("Datastreams", {"$top": "10000"}),
        ("Observations", {"$filter": "Datastream/ObservedProperty/@iot.id eq 'active_power_kw'"}),
        ("Observations", {"$filter": f"Datastream/Thing/@iot.id eq {world['ids']['sta-e1']}"}),
        ("ObservedProperties('energy_kwh')/Datastreams", {}),
        ("Datastreams", {"$filter": "Thing/properties/kind eq 'energy'"}),
        ("Things", {"$filter": "Datastreams/ObservedProperty/@iot.id eq 'energy_kwh'"}),
    ]:  # fmt: skip
        response = api.get(BASE + path, params)
        assert response.status_code == 200
        seen |= {_sensor_of(e["@iot.id"]) for e in response.json()["value"]}
    expanded = api.get(
        BASE + "ObservedProperties", {"$expand": "Datastreams($top=10000;$expand=Thing,Observations($top=1))"}
    )
    for prop in expanded.json()["value"]:
        seen |= {_sensor_of(d["@iot.id"]) for d in prop["Datastreams"]}
        seen |= {d["Thing"]["@iot.id"] for d in prop["Datastreams"]}
    assert seen and not (seen & meters)
    total = api.get(BASE + "Things", {"$count": "true", "$top": "0"}).json()["@iot.count"]
    assert total == Sensor.objects.visible_to(AnonymousUser()).count()


@pytest.mark.parametrize("role", [Role.PLANNER, Role.OPERATOR, Role.GIS_STAFF, Role.ADMIN])
def test_staff_roles_see_energy_meters_by_session_and_token(role: str, world, api_as, client) -> None:  # noqa: ANN001
    user = create_user(username=f"sta-{role}", password="pw-for-tests-only", role=Role(role))
    client.force_login(user)
    for path in _meter_paths(world):
        assert client.get(BASE + path).status_code == 200, path
    stream = api_as(user).get(BASE + f"Datastreams('{world['ids']['sta-e1']}:active_power_kw')/Observations")
    assert stream.status_code == 200 and len(stream.json()["value"]) == STEPS


@pytest.mark.parametrize("role", [Role.INGEST, Role.DEVICE])
def test_machine_accounts_read_what_the_public_reads(role: str, world, api_as) -> None:  # noqa: ANN001
    user = create_user(username=f"sta-m-{role}", password="pw-for-tests-only", role=Role(role))
    assert api_as(user).get(BASE + f"Things({world['ids']['sta-e1']})").status_code == 404
    assert api_as(user).get(BASE + f"Things({world['ids']['sta-t1']})").status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_are_405_for_every_role(method: str, world, api, api_as) -> None:  # noqa: ANN001
    admin = create_user(username=f"sta-admin-{method}", password="pw-for-tests-only", role=Role.ADMIN)
    for client in (api, api_as(admin)):
        for path in ("Things", f"Things({world['ids']['sta-t1']})", "Observations"):
            assert getattr(client, method)(BASE + path, {}, format="json").status_code == 405


# --- the live server, through a real SensorThings client ----------------------------------------------------------
def test_frost_client_reads_things_datastreams_and_observations(server_url: str, world) -> None:  # noqa: ANN001
    service = fsc.SensorThingsService(server_url + BASE)
    sensor = world["sensors"]["sta-a1"]
    things = service.things().query().filter("properties/code eq 'sta-a1'").expand(
        "Datastreams($filter=ObservedProperty/@iot.id eq 'pm2_5';$expand=ObservedProperty),Locations"
    ).list()  # fmt: skip
    assert [t.id for t in things] == [sensor.pk]
    streams = things.get(0).datastreams
    assert sorted(d.id for d in streams) == [f"{sensor.pk}:pm2_5", f"{sensor.pk}:pm2_5:hourly"]
    assert all(d.observed_property.id == "pm2_5" for d in streams)
    assert all(d.unit_of_measurement.symbol == "µg/m³" for d in streams)
    found = service.observations().query().filter(
        f"Datastream/@iot.id eq '{sensor.pk}:pm2_5' and phenomenonTime ge {START:%Y-%m-%dT%H:%M:%SZ}"
    ).orderby("phenomenonTime", "ASC").top(3).list()  # fmt: skip
    results = [o.result for o in found]  # iterating follows @iot.nextLink: every page of 3
    assert results == [r.values["pm2_5"] for r in Reading.objects.filter(sensor=sensor).order_by("time")]
    stream = service.datastreams().find(f"{sensor.pk}:no2")
    assert stream.name.endswith("NO₂") and stream.observation_type.endswith("OM_Measurement")


def test_live_server_hides_meters_from_anonymous_and_shows_them_to_a_token(server_url: str, world) -> None:  # noqa: ANN001
    from rest_framework.authtoken.models import Token

    def make() -> tuple[int, str]:  # committed (own connection): the server is another process
        user = create_user(username="sta-live-operator", password="pw-for-tests-only", role=Role.OPERATOR)
        return user.pk, Token.objects.create(user=user).key

    pk, token = in_thread(make)
    try:
        url = f"{server_url}{BASE}Things({world['ids']['sta-e1']})"
        assert requests.get(url, timeout=30).status_code == 404
        seen = requests.get(url, headers={"Authorization": f"Token {token}"}, timeout=30)
        assert seen.status_code == 200 and seen.json()["properties"]["kind"] == "energy"
        service = fsc.SensorThingsService(server_url + BASE)
        assert list(service.things().query().filter(f"id eq {world['ids']['sta-e1']}").list()) == []
    finally:
        in_thread(lambda: User.objects.filter(pk=pk).delete())
