"""Scenarios over the API: the document's validation (field errors, never a 500), versioning, the roles,
runs queued as one job per seed, the per-person cap, cancel, and the results' arithmetic (means over
seeds, differences) on rows written here. Real simulations: tests/test_scenario_runs.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from apps.jobs.models import Job, JobState
from apps.roads.models import RoadSegment
from apps.simulation.models import RunState, Scenario, ScenarioRun, SegmentResult
from apps.simulation.sumo.network import DRIVABLE

pytestmark = pytest.mark.django_db


def doc(**changes: Any) -> dict[str, Any]:
    base = {
        "name": "Test scenario",
        "network": "city",
        "begin": 7 * 3600,
        "end": 8 * 3600,
        "demand": {"source": "random", "period": 2.0, "seed": 3},
        "edits": [],
        "seeds": [1, 2],
    }
    return {**base, **changes}


def main_road() -> RoadSegment:
    return RoadSegment.objects.filter(highway="primary").exclude(name="").order_by("id").first()


def test_create_fills_defaults_and_lists_for_planners(api_as, planner) -> None:  # noqa: ANN001
    client = api_as(planner)
    response = client.post("/api/scenarios/", doc(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["version"] == 1 and body["locked"] is False
    assert body["document"]["interval"] == 900
    assert body["document"]["demand"]["fringe_factor"] == 5.0
    assert body["document"]["time_zone"] == "Europe/Helsinki"
    listed = client.get("/api/scenarios/").json()
    assert listed["results"][0]["id"] == body["id"]  # newest first
    assert client.get(f"/api/scenarios/{body['id']}/").json()["name"] == "Test scenario"


def test_only_planners_and_admins(api, api_as, operator, admin_user, planner) -> None:  # noqa: ANN001
    scenario = api_as(planner).post("/api/scenarios/", doc(), format="json").json()
    assert api.get("/api/scenarios/").status_code in (401, 403)
    assert api_as(operator).get("/api/scenarios/").status_code == 403
    assert api_as(operator).post("/api/scenarios/", doc(), format="json").status_code == 403
    assert api_as(operator).get(f"/api/scenarios/{scenario['id']}/").status_code == 403
    assert api_as(operator).get("/api/runs/").status_code == 403
    assert api_as(admin_user).get(f"/api/scenarios/{scenario['id']}/").status_code == 200


@pytest.mark.parametrize(
    ("changes", "path", "words"),
    [
        (
            {"edits": [{"type": "close_segment", "segment": 999999999}]},
            ("edits", "0", "segment"),
            "not a drivable segment",
        ),
        ({"edits": [{"type": "demand_scale", "factor": -1}]}, ("edits", "0", "factor"), "greater than or equal to 0"),
        ({"edits": [{"type": "speed_limit", "segment": 1}]}, ("edits", "0", "kmh"), "required"),
        ({"edits": [{"type": "teleport"}]}, ("edits", "0"), "type is one of"),
        ({"edits": "close everything"}, ("edits",), "list"),
        ({"begin": 9 * 3600, "end": 8 * 3600}, ("end",), "after begin"),
        ({"network": "atlantis"}, ("network",), "unknown network"),
        ({"seeds": [1, 1]}, ("seeds",), "different"),
        ({"demand": {"source": "random", "period": 0}}, ("demand", "period"), "greater than or equal"),
        ({"demand": {"source": "gravity"}}, ("demand",), "random' or 'counts"),
        ({"demand": {"source": "counts", "date": "1999-01-01"}}, ("demand", "date"), "no vehicle counts"),
        ({"time_zone": "Mars/Olympus"}, ("time_zone",), "not a time zone"),
        (
            {"edits": [{"type": "demand_scale", "factor": 2, "district": 999999}]},
            ("edits", "0", "district"),
            "no district",
        ),
    ],
)
def test_invalid_documents_are_field_errors(api_as, planner, changes, path, words) -> None:  # noqa: ANN001
    response = api_as(planner).post("/api/scenarios/", doc(**changes), format="json")
    assert response.status_code == 400, response.content
    errors: Any = response.json()["errors"]
    for key in path:
        errors = errors[key]
    assert words in str(errors)


def test_a_segment_of_a_footway_or_of_another_network_is_refused(api_as, planner) -> None:  # noqa: ANN001
    footway = RoadSegment.objects.exclude(highway__in=list(DRIVABLE)).first()
    response = api_as(planner).post(
        "/api/scenarios/", doc(edits=[{"type": "close_segment", "segment": footway.pk}]), format="json"
    )
    assert response.status_code == 400
    assert "not a drivable segment of network 'city'" in str(response.json()["errors"]["edits"]["0"])


def test_closing_every_way_out_of_a_district_is_refused(api_as, planner) -> None:  # noqa: ANN001
    with connection.cursor() as cursor:  # the district with the fewest drivable exits
        cursor.execute(
            """
            SELECT d.name, array_agg(s.id) FROM districts_district d
            JOIN roads_roadsegment s ON ST_Intersects(d.geom, ST_StartPoint(s.geom))
                                    AND NOT ST_Intersects(d.geom, ST_EndPoint(s.geom))
            WHERE s.highway = ANY(%s) GROUP BY d.id, d.name ORDER BY count(*) LIMIT 1
            """,
            [list(DRIVABLE)],
        )
        name, exits = cursor.fetchone()
    closures = [{"type": "close_segment", "segment": s} for s in exits]
    response = api_as(planner).post("/api/scenarios/", doc(edits=closures), format="json")
    assert response.status_code == 400
    assert f"leaves no way out of {name}" in str(response.json()["errors"]["edits"]["closures"])
    # all but one exit closed: allowed
    if len(closures) > 1:
        assert api_as(planner).post("/api/scenarios/", doc(edits=closures[1:]), format="json").status_code == 201


def test_run_queues_one_job_per_seed_and_locks_the_scenario(api_as, planner) -> None:  # noqa: ANN001
    client = api_as(planner)
    road = main_road()
    scenario = client.post(
        "/api/scenarios/", doc(edits=[{"type": "close_segment", "segment": road.pk}]), format="json"
    ).json()
    response = client.post(f"/api/scenarios/{scenario['id']}/runs/")
    assert response.status_code == 202, response.content
    run = response.json()
    assert run["state"] == "queued" and run["progress"] == 0
    assert [s["seed"] for s in run["seeds"]] == [1, 2]
    jobs = Job.objects.filter(pk__in=[s["job"] for s in run["seeds"]])
    assert {j.kind for j in jobs} == {"scenario_run"} and {j.task_name for j in jobs} == {"simulation.run_seed"}
    assert run["intervals"] == [[25200, 26100], [26100, 27000], [27000, 27900], [27900, 28800]]

    # a scenario with a run is immutable: saving it makes version 2 of the same lineage
    edited = doc(name="Half closed", edits=[{"type": "speed_limit", "segment": road.pk, "kmh": 20}])
    response = client.put(f"/api/scenarios/{scenario['id']}/", edited, format="json")
    assert response.status_code == 201
    version = response.json()
    assert version["id"] != scenario["id"] and version["version"] == 2 and version["lineage"] == scenario["lineage"]
    assert version["parent"] == scenario["id"]
    assert Scenario.objects.get(pk=scenario["id"]).document["edits"][0]["type"] == "close_segment"
    assert ScenarioRun.objects.get(pk=run["id"]).document["edits"][0]["type"] == "close_segment"
    # an unrun scenario is changed in place
    again = client.patch(f"/api/scenarios/{version['id']}/", {"name": "Renamed"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == version["id"] and again.json()["name"] == "Renamed"


def test_what_changed_names_the_streets(api_as, planner) -> None:  # noqa: ANN001
    client = api_as(planner)
    road = main_road()
    base = client.post("/api/scenarios/", doc(name="Base"), format="json").json()
    variant = client.post(
        "/api/scenarios/",
        doc(name="Closed", base=base["id"], seeds=[1, 2, 3], edits=[{"type": "close_segment", "segment": road.pk}]),
        format="json",
    ).json()
    assert variant["changes"] == [f"+ close {road.name} (segment {road.pk})", "seeds: [1, 2] -> [1, 2, 3]"]
    copy = client.post(f"/api/scenarios/{variant['id']}/duplicate/").json()
    assert (
        copy["name"] == "Copy of Closed" and copy["lineage"] != variant["lineage"] and copy["parent"] == variant["id"]
    )


def test_each_planner_has_a_cap_on_active_runs_and_cancel_frees_it(api_as, planner, settings) -> None:  # noqa: ANN001
    settings.CITYTWIN_SCENARIO_RUNS_PER_USER = 2
    client = api_as(planner)
    scenario = client.post("/api/scenarios/", doc(seeds=[1, 2, 3, 4]), format="json").json()
    first = client.post(f"/api/scenarios/{scenario['id']}/runs/").json()
    assert client.post(f"/api/scenarios/{scenario['id']}/runs/").status_code == 202
    refused = client.post(f"/api/scenarios/{scenario['id']}/runs/")
    assert refused.status_code == 429 and refused.json()["code"] == "run_limit"
    cancelled = client.post(f"/api/runs/{first['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert set(Job.objects.filter(seed_run__run_id=first["id"]).values_list("state", flat=True)) == {JobState.CANCELLED}
    assert client.post(f"/api/runs/{first['id']}/cancel/").status_code == 409
    assert client.post(f"/api/scenarios/{scenario['id']}/runs/").status_code == 202


def _finished_run(planner, entered: list[list[float]], speeds: list[float]) -> tuple[ScenarioRun, RoadSegment]:  # noqa: ANN001
    """A run of len(entered) seeds with hand-written results on one segment: entered[seed][interval]."""
    from apps.simulation.services import create_scenario, start_run

    scenario = create_scenario(document=doc(seeds=list(range(1, len(entered) + 1))), owner=planner)
    run = start_run(scenario=scenario, owner=planner, enqueue=False)
    road = main_road()
    for seed_run, per_interval in zip(run.seed_runs.order_by("seed"), entered, strict=True):
        seed_run.kpis = {"vehicle_km": 1.0}
        seed_run.save()
        for (begin, end), count in zip([[25200, 26100], [26100, 27000]], per_interval, strict=False):
            SegmentResult.objects.create(
                seed_run=seed_run, segment_id=road.pk, interval_begin=begin, interval_end=end, entered=count,
                flow_veh_h=count * 4, speed_kmh=speeds[0], travel_time_s=10, sampled_seconds=100,
            )  # fmt: skip
    ScenarioRun.objects.filter(pk=run.pk).update(state=RunState.SUCCEEDED)
    return run, road


def test_segment_results_are_means_over_seeds(api_as, planner) -> None:  # noqa: ANN001
    run, road = _finished_run(planner, [[10, 20], [30]], [36.0])  # seed 2 had nobody in the 2nd interval
    client = api_as(planner)
    first = client.get(f"/api/runs/{run.pk}/segments/?interval=25200").json()
    (feature,) = [f for f in first["features"] if f["properties"]["segment"] == road.pk]
    assert feature["properties"]["flow_veh_h"] == pytest.approx((10 + 30) / 2 * 4)
    assert feature["properties"]["speed_kmh"] == pytest.approx(36.0)
    assert feature["geometry"]["type"] == "LineString"
    second = client.get(f"/api/runs/{run.pk}/segments/?interval=26100").json()["features"][0]["properties"]
    assert second["flow_veh_h"] == pytest.approx(20 / 2 * 4)  # the empty seed counts as zero
    whole = client.get(f"/api/runs/{run.pk}/segments/").json()["features"][0]["properties"]
    assert whole["flow_veh_h"] == pytest.approx((10 + 20 + 30) / 2)  # vehicles per hour over the 1 h window
    far_away = client.get(f"/api/runs/{run.pk}/segments/?bbox=10,40,10.1,40.1").json()
    assert far_away["features"] == []
    bad = client.get(f"/api/runs/{run.pk}/segments/?interval=25201")
    assert bad.status_code == 400 and "interval" in bad.json()["errors"]
    assert client.get(f"/api/runs/{run.pk}/segments/?bbox=1,2,3").status_code == 400


def test_difference_is_absolute_and_percent(api_as, planner) -> None:  # noqa: ANN001
    base, road = _finished_run(planner, [[10, 10]], [40.0])
    variant, _ = _finished_run(planner, [[15, 5]], [30.0])
    client = api_as(planner)
    body = client.get(f"/api/runs/{variant.pk}/difference/?against={base.pk}&interval=25200").json()
    props = body["features"][0]["properties"]
    assert props["flow_diff"] == pytest.approx(20.0) and props["flow_pct"] == pytest.approx(50.0)
    assert props["speed_diff"] == pytest.approx(-10.0) and props["speed_pct"] == pytest.approx(-25.0)
    assert client.get(f"/api/runs/{variant.pk}/difference/?against=abc").status_code == 400


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_run_results_as_vector_tiles_for_planners_only(client, planner, operator) -> None:  # noqa: ANN001
    import mapbox_vector_tile

    run, road = _finished_run(planner, [[10, 20], [30, 40]], [36.0])
    point = road.geom.interpolate_normalized(0.5)
    x, y = _tile_of(point.x, point.y, 15)
    url = f"/tiles/runs/{run.pk}/15/{x}/{y}.pbf"
    assert client.get(url).status_code == 401
    client.force_login(operator)
    assert client.get(url).status_code == 403
    client.force_login(planner)
    response = client.get(f"{url}?interval=25200")
    assert response.status_code == 200 and "private" in response["Cache-Control"]
    (feature,) = mapbox_vector_tile.decode(response.content)["results"]["features"]
    assert feature["properties"]["flow_veh_h"] == pytest.approx((10 + 30) / 2 * 4)
    assert client.get(f"{url}?interval=1").status_code == 400
    assert client.get(f"/tiles/runs/{run.pk + 1000}/15/{x}/{y}.pbf").status_code == 404
