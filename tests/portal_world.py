"""Committed data for the public portal's tests (the real server is another process): open sensors with latest
values (and an energy meter that must never show), and a published comparison of two finished runs with
hand-written results on a few streets (one street closed in the variant)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.gis.geos import Point
from django.utils import timezone

BASE_KPIS = {"mean_travel_time_s": {"mean": 300.0, "ci95": 10.0}, "co2_kg": {"mean": 900.0, "ci95": 30.0},
             "vehicle_km": {"mean": 5000.0, "ci95": None}}  # fmt: skip
VARIANT_KPIS = {"mean_travel_time_s": {"mean": 330.0, "ci95": 12.0}, "co2_kg": {"mean": 950.0, "ci95": 40.0},
                "vehicle_km": {"mean": 5200.0, "ci95": None}}  # fmt: skip
TITLE = "Closing Mannerheimintie to cars for a day"


def make_world(prefix: str = "portal") -> dict[str, Any]:
    from apps.accounts.models import Role
    from apps.accounts.services import create_user
    from apps.jobs.models import JobState
    from apps.roads.models import RoadSegment
    from apps.sensors.models import Sensor
    from apps.simulation.models import RunState, ScenarioRun, SegmentResult
    from apps.simulation.services import create_scenario, publish_comparison, start_run
    from apps.telemetry.models import LatestValue

    now = timezone.now()
    sensors = {
        "traffic": Sensor.objects.create(code=f"{prefix}-traffic-1", name="Mannerheimintie counter", kind="traffic",
                                         geom=Point(24.9395, 60.1705, srid=4326), source="test", source_id=f"{prefix}-t"),
        "air": Sensor.objects.create(code=f"{prefix}-aq-1", name="Kamppi air station", kind="air_quality",
                                     geom=Point(24.9330, 60.1690, srid=4326), source="test", source_id=f"{prefix}-a"),
        "energy": Sensor.objects.create(code=f"{prefix}-meter-1", name="Household meter", kind="energy",
                                        geom=Point(24.9410, 60.1680, srid=4326), source="test", source_id=f"{prefix}-e"),
    }  # fmt: skip
    values = {"traffic": {"mean_speed_kmh": 37.4, "vehicle_count": 12}, "air": {"pm2_5": 8.25, "no2": 21.0},
              "energy": {"active_power_kw": 3.3}}  # fmt: skip
    for key, props in values.items():
        for name, value in props.items():
            LatestValue.objects.create(sensor=sensors[key], property=name, time=now - timedelta(seconds=20),
                                       value=value, received_at=now)  # fmt: skip

    planner = create_user(username=f"{prefix}-planner", password="pw-for-tests-only", role=Role.PLANNER)
    segments = list(RoadSegment.objects.filter(highway__in=["primary", "secondary"]).order_by("id")[:6])
    runs = []
    for name, kpis, closed in (("Today", BASE_KPIS, None), ("Car-free day", VARIANT_KPIS, segments[0].pk)):
        document = {"name": name, "network": "city", "begin": 25200, "end": 27000, "seeds": [1],
                    "demand": {"source": "random", "period": 2, "seed": 1}}  # fmt: skip
        scenario = create_scenario(document=document, owner=planner)
        run = start_run(scenario=scenario, owner=planner, enqueue=False)
        seed_run = run.seed_runs.get()
        seed_run.kpis = {"vehicle_km": 1.0}
        seed_run.save()
        seed_run.job.state = JobState.SUCCEEDED
        seed_run.job.save()
        for i, segment in enumerate(segments):
            if segment.pk == closed:
                continue
            flow = 400.0 + 50 * i + (120 if closed else 0)
            SegmentResult.objects.create(seed_run=seed_run, segment_id=segment.pk, interval_begin=25200,
                                         interval_end=27000, entered=flow / 2, flow_veh_h=flow, speed_kmh=30.0 - i,
                                         travel_time_s=15, sampled_seconds=100)  # fmt: skip
        ScenarioRun.objects.filter(pk=run.pk).update(state=RunState.SUCCEEDED, kpis=kpis)
        run.refresh_from_db()
        runs.append(run)
    published = publish_comparison(run=runs[1], against=runs[0], title=TITLE, summary="A test of a car-free day.",
                                   user=planner)  # fmt: skip
    return {"sensors": sensors, "runs": runs, "published": published, "segments": segments, "planner": planner}


def remove_world(world: dict[str, Any]) -> None:
    from apps.accounts.models import User
    from apps.jobs.models import Job
    from apps.simulation.models import Scenario, ScenarioRun

    job_ids = [sr.job_id for run in world["runs"] for sr in run.seed_runs.all()]
    ScenarioRun.objects.filter(pk__in=[run.pk for run in world["runs"]]).delete()  # results, publication go too
    Job.objects.filter(pk__in=job_ids).delete()
    Scenario.objects.filter(pk__in=[run.scenario_id for run in world["runs"]]).delete()
    for sensor in world["sensors"].values():
        sensor.delete()
    User.objects.filter(pk=world["planner"].pk).delete()
