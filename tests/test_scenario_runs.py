"""Scenario runs with real SUMO on the real Helsinki network: a base and a closure run side by side, their
results per segment, the difference, KPIs over seeds; run_scenario as a command (--inline, its own
process); a run through the real Celery worker with progress. Faults (kill -9, cancel): test_scenario_faults.py.
Calibration on Bologna's real counts: test_calibration.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from apps.jobs.models import Job, JobState
from apps.roads.models import RoadSegment
from apps.simulation.models import RunState, Scenario, ScenarioRun, SegmentResult
from apps.simulation.services import create_scenario, start_run
from tests.conftest import ROOT, database_url_for_tests, in_thread

pytestmark = pytest.mark.django_db

WINDOW = {"begin": 7 * 3600, "end": 7 * 3600 + 1200, "interval": 300}
DEMAND = {"source": "random", "period": 1.5, "seed": 7}


def busiest_main_road(run: ScenarioRun) -> RoadSegment:
    """The segment of a main road (primary or trunk) that carried the most traffic in the run."""
    main = RoadSegment.objects.filter(highway__in=["primary", "trunk"]).exclude(name="").values("id")
    busiest = (
        SegmentResult.objects.filter(seed_run__run=run, segment_id__in=main)
        .values("segment_id")
        .annotate(total=Sum("entered"))
        .order_by("-total")
        .first()
    )
    assert busiest is not None and busiest["total"] > 20, busiest
    return RoadSegment.objects.get(pk=busiest["segment_id"])


def test_a_closure_moves_traffic_and_the_difference_shows_it(api_as, planner, run_queued_jobs) -> None:  # noqa: ANN001
    base = create_scenario(document={"name": "Base", **WINDOW, "demand": DEMAND, "seeds": [1, 2]}, owner=planner)
    base_run = start_run(scenario=base, owner=planner, enqueue=False)
    jobs = run_queued_jobs()
    road = busiest_main_road(base_run)
    closed = create_scenario(
        document={
            "name": f"{road.name} closed", **WINDOW, "demand": DEMAND, "seeds": [1, 2], "base": base.pk,
            "edits": [{"type": "close_segment", "segment": road.pk}],
        },
        owner=planner,
    )  # fmt: skip
    closed_run = start_run(scenario=closed, owner=planner, enqueue=False)
    jobs += run_queued_jobs()
    assert [j.state for j in jobs] == [JobState.SUCCEEDED] * 4, [j.error for j in jobs]
    for run in (base_run, closed_run):
        run.refresh_from_db()
        assert run.state == RunState.SUCCEEDED
        kpis = run.kpis
        assert kpis["vehicles_inserted"]["mean"] > 300 and len(kpis["vehicles_inserted"]["seeds"]) == 2
        assert kpis["vehicle_km"]["mean"] > 0 and kpis["mean_travel_time_s"]["ci95"] is not None
        assert run.calibration is None  # random demand: no day, no counts

    # the closed segment carries traffic in the base and none in the closure
    base_rows = SegmentResult.objects.filter(seed_run__run=base_run)
    assert base_rows.values("segment_id").distinct().count() > 500
    assert base_rows.filter(segment_id=road.pk).exists()
    assert not SegmentResult.objects.filter(seed_run__run=closed_run, segment_id=road.pk).exists()
    # the same trips in both (same demand seed), except the ones starting or ending on the closed segment
    fewer = (
        base_run.seed_runs.get(seed=1).kpis["vehicles_loaded"]
        - closed_run.seed_runs.get(seed=1).kpis["vehicles_loaded"]
    )
    assert fewer == closed_run.seed_runs.get(seed=1).demand["dropped"] >= 0

    client = api_as(planner)
    detail = client.get(f"/api/runs/{closed_run.pk}/").json()
    assert detail["progress"] == 100 and detail["base_runs"] == [base_run.pk]
    body = client.get(f"/api/runs/{closed_run.pk}/difference/?against={base_run.pk}").json()
    by_segment = {f["properties"]["segment"]: f["properties"] for f in body["features"]}
    closed_props = by_segment[road.pk]
    assert closed_props["flow_veh_h"] == 0 and closed_props["flow_base"] > 0 and closed_props["flow_pct"] == -100
    # the traffic went somewhere: some other segments gained flow
    gains = [p for s, p in by_segment.items() if s != road.pk and (p["flow_diff"] or 0) > 20]
    assert gains, "no segment gained traffic from the closure"
    segments = client.get(f"/api/runs/{closed_run.pk}/segments/?interval={WINDOW['begin'] + 600}").json()
    assert len(segments["features"]) > 300
    assert all(
        f["properties"]["speed_kmh"] is None or 0 <= f["properties"]["speed_kmh"] < 130 for f in segments["features"]
    )


def _cleanup_scenarios(names: list[str]) -> None:
    def clean() -> None:
        runs = ScenarioRun.objects.filter(scenario__name__in=names)
        job_ids = list(Job.objects.filter(seed_run__run__in=runs).values_list("pk", flat=True))
        runs.delete()
        Job.objects.filter(pk__in=job_ids).delete()
        Scenario.objects.filter(name__in=names).delete()

    in_thread(clean)


def _command(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "DATABASE_URL": database_url_for_tests(), "DJANGO_SETTINGS_MODULE": "city.settings.test"}
    full_env.update({"CITYTWIN_DB_POOL": "0", **(env or {})})
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "manage.py", "run_scenario", *args], cwd=ROOT, env=full_env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip


def test_run_scenario_inline_prints_kpis_and_refuses_bad_files(tmp_path: Path) -> None:
    name = f"cli-{os.getpid()}"
    try:
        path = tmp_path / "scenario.json"
        path.write_text(json.dumps({"name": name, **WINDOW, "demand": DEMAND, "seeds": [3]}))
        done = _command(str(path), "--inline")
        assert done.returncode == 0, done.stderr[-3000:]
        summary: dict[str, Any] = json.loads(done.stdout)
        assert summary["state"] == "succeeded"
        assert summary["kpis"]["vehicles_inserted"] > 300 and summary["kpis"]["vehicle_km"] > 0
        assert "100.0%" in done.stderr  # progress lines on stderr
        run = ScenarioRun.objects.get(pk=summary["run"])
        assert SegmentResult.objects.filter(seed_run__run=run).count() > 500

        path.write_text('{"name": "broken", "begin": 10,')
        broken = _command(str(path))
        assert broken.returncode == 1 and "scenario.json: line 1, column" in broken.stderr
        path.write_text(json.dumps({"name": name, "begin": 3600, "end": 60, "demand": DEMAND,
                                    "edits": [{"type": "close_segment", "segment": -4}]}))  # fmt: skip
        invalid = _command(str(path))
        assert invalid.returncode == 1
        assert "end: must be after begin" in invalid.stderr or "edits[0].segment" in invalid.stderr
        assert "Traceback" not in invalid.stderr + broken.stderr
    finally:
        _cleanup_scenarios([name])


def test_a_run_through_the_worker_streams_progress_and_settles(job_worker, django_db_blocker) -> None:  # noqa: ANN001
    name = f"worker-{os.getpid()}"

    def queue() -> int:
        scenario = create_scenario(document={"name": name, **WINDOW, "demand": DEMAND, "seeds": [1, 2]}, owner=None)
        return start_run(scenario=scenario, owner=None).pk

    try:
        run_id = in_thread(queue)
        seen: set[float] = set()

        def state() -> str:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT r.state, array_agg(j.progress) FROM simulation_scenariorun r "
                    "JOIN simulation_seedrun s ON s.run_id = r.id JOIN jobs_job j ON j.id = s.job_id "
                    "WHERE r.id = %s GROUP BY r.state",
                    [run_id],
                )
                current, progress = cursor.fetchone()
                seen.update(progress)
                return str(current)

        deadline = time.monotonic() + 300
        while state() not in ("succeeded", "failed", "cancelled"):
            assert time.monotonic() < deadline, "the run did not end within 5 minutes"
            time.sleep(0.3)
        run = ScenarioRun.objects.get(pk=run_id)
        assert run.state == RunState.SUCCEEDED, run.error
        assert any(10 < p < 100 for p in seen), f"no progress seen between 10 and 100 %: {sorted(seen)}"
        logs = list(Job.objects.filter(seed_run__run=run).values_list("log", flat=True))
        assert all("simulating" in log and "stored" in log for log in logs)
    finally:
        _cleanup_scenarios([name])
