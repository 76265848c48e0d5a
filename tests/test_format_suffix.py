"""Format-suffix routes (`/api/sensors/{code}/latest.json`, ...): every URL pattern of the API, walked from the
URL resolver itself (so a route added later is covered without editing this file), with each suffix the API
renders, every method, as every role: never a 5xx."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.contrib.gis.geos import Point
from django.urls import URLPattern, URLResolver, get_resolver

from apps.accounts.models import Role
from apps.accounts.services import create_user
from apps.assets.models import UtilityAsset
from apps.buildings.models import Building
from apps.districts.models import District
from apps.imports.models import ImportRun
from apps.jobs.models import Job
from apps.roads.models import RoadNode, RoadSegment
from apps.sensors.models import Sensor
from apps.simulation.services import create_scenario, start_run
from apps.telemetry.models import Alert, QuarantinedReading

pytestmark = pytest.mark.django_db
ROLES = (None, Role.PLANNER, Role.OPERATOR, Role.GIS_STAFF, Role.ADMIN, Role.INGEST, Role.DEVICE)
METHODS = ("get", "head", "options", "post", "put", "patch", "delete")
SUFFIXES = ("json", "geojson", "api")
GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def _api_patterns(patterns: list, prefix: str = "") -> Iterator[str]:  # noqa: ANN001 - Django's URL pattern types
    for entry in patterns:
        route = prefix + str(entry.pattern).lstrip("^").rstrip("$")
        if isinstance(entry, URLResolver):
            yield from _api_patterns(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.startswith("api/") and not route.startswith("api/schema"):
            yield route


@pytest.fixture
def objects(db) -> dict[str, str]:  # noqa: ANN001
    """One object behind each kind of detail URL, so that detail routes and actions run to the end."""
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    sensor = Sensor.objects.create(
        code="fmt-aq-1", kind="air_quality", geom=Point(24.945, 60.169, srid=4326), source="test", source_id="fmt-aq-1"
    )
    alert = Alert.objects.create(
        kind="threshold",
        sensor=sensor,
        property="pm2_5",
        value=80.0,
        message="PM2.5 above 50",
        started_at=now,
        last_seen_at=now,
    )
    quarantined = QuarantinedReading.objects.create(
        received_at=now, source="http", sensor_code="x", reason="malformed", detail="test", payload="{"
    )
    job = Job.objects.create(kind="import")  # queued, never enqueued
    scenario = create_scenario(
        document={"name": "fmt", "begin": 0, "end": 600, "demand": {"source": "random"}, "seeds": [1]}, owner=None
    )
    run = start_run(scenario=scenario, owner=None, enqueue=False)
    return {
        "code": sensor.code,
        "alerts": str(alert.pk),
        "quarantine": str(quarantined.pk),
        "jobs": str(job.pk),
        "scenarios": str(scenario.pk),
        "runs": str(run.pk),
    }


def _concrete(route: str, objects: dict[str, str], suffix: str) -> str:
    first = {
        "buildings": Building.objects,
        "road-segments": RoadSegment.objects,
        "road-nodes": RoadNode.objects,
        "districts": District.objects,
        "imports": ImportRun.objects,
        "utility-assets": UtilityAsset.objects.filter(kind="street_lamp"),  # public, so every role finds it
    }

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name == "format":
            return suffix
        if name == "code":
            return objects["code"]
        collection = route.split("/")[1]
        if collection in objects:
            return objects[collection]
        assert collection in first, f"a new collection: give the walk one of its objects ({route})"
        return str(first[collection].order_by("pk").values_list("pk", flat=True).first())

    url = "/" + GROUP.sub(value, route)
    # Django converters (<drf_format_suffix:format>) are not regex groups.
    url = re.sub(r"<drf_format_suffix:format>", f".{suffix}", url)
    return url.replace("\\.", ".").replace("/?", "")


@pytest.fixture
def clients(objects, api_as) -> dict[str, object]:  # noqa: ANN001
    from rest_framework.test import APIClient

    made: dict[str, object] = {"anonymous": APIClient()}
    for role in ROLES[1:]:
        # A device's username is its sensor's code.
        name = objects["code"] if role == Role.DEVICE else f"fmt-{role}"
        made[str(role)] = api_as(create_user(username=name, password="pw-for-tests-only", role=role))
    for client in made.values():
        client.raise_request_exception = False  # a 500 is an answer to count, not an exception to stop at
    return made


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_no_route_of_the_api_answers_5xx_with_a_format_suffix(clients, objects, suffix: str) -> None:  # noqa: ANN001
    failures = []
    routes = [r for r in _api_patterns(get_resolver().url_patterns) if "format" in r]
    # The walk is not empty: every collection, detail and action route of the router, the issue's among them.
    actions = {m.group(1) for r in routes if (m := re.search(r"/([a-z]+)\\\.\(\?P<format>", r))}
    assert len(routes) >= 20 and {"latest", "readings", "acknowledge"} <= actions, actions
    for role, client in clients.items():
        for route in routes:
            url = _concrete(route, objects, suffix)
            for method in METHODS:
                send = getattr(client, method)
                body = ({},) if method in ("post", "put", "patch") else ()
                response = send(url + "?limit=3", *body, format="json")
                if response.status_code >= 500:
                    failures.append(f"{role} {method.upper()} {url}: {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ["anonymous", Role.PLANNER, Role.OPERATOR, Role.ADMIN, Role.DEVICE])
def test_the_three_routes_of_the_issue_answer_as_without_the_suffix(clients, objects, role: str) -> None:  # noqa: ANN001
    client = clients[str(role)]
    code, alert = objects["code"], objects["alerts"]
    window = "?start=2026-11-23T07:00:00Z&end=2026-11-23T08:00:00Z"
    for url, query in ((f"/api/sensors/{code}/latest", ""), (f"/api/sensors/{code}/readings", window)):
        plain, suffixed = client.get(url + "/" + query), client.get(url + ".json" + query)
        assert suffixed.status_code == plain.status_code == 200, suffixed.content[:200]
        assert suffixed.json() == plain.json()
        assert suffixed["Content-Type"] == "application/json"
    acknowledged = client.post(f"/api/alerts/{alert}/acknowledge.json", {"note": "on it"}, format="json")
    if role in (Role.OPERATOR, Role.ADMIN):
        assert acknowledged.status_code == 200, acknowledged.content[:200]
        assert acknowledged.json()["id"] == int(alert) and acknowledged.json()["acknowledged_by"]
    else:
        assert acknowledged.status_code in (401, 403)
        assert acknowledged.json()["code"] in ("not_authenticated", "permission_denied")
