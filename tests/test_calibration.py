"""Calibration on real data: Bologna's SUMO network (import_sumo_network) and its real loop counts
(import_counts) of one weekday; a `counts` scenario fits the morning peak (07:00-09:00) with routeSampler,
simulates it, and compares per detector segment and hour the observed and simulated counts (GEH, R²).
The data is at ../shared/data/bologna-joined/ (its README); CI always has it."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.imports.counts import import_counts
from apps.imports.services import import_sumo_network
from apps.jobs.models import JobState
from apps.roads.models import RoadNetwork, RoadSegment
from apps.simulation.models import CalibrationRow, RunState
from apps.simulation.services import create_scenario, start_run
from apps.simulation.sumo.calibrate import geh

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
BOLOGNA = ROOT.parent / "shared" / "data" / "bologna-joined"
DAY = "11/01/2024"  # a Thursday, the weekday with the most loops reporting (77 of 85)
DAY_ISO = "2024-01-11"
NETWORK = "bologna-cal"


def _one_day(tmp_path: Path) -> Path:
    """The real count file cut to one day (every loop of it), so the test imports 85 rows, not 3,323."""
    with open(BOLOGNA / "loop_counts_2024.csv", encoding="utf-8", newline="") as fh:
        lines = fh.read().splitlines()
    header, rows = lines[0], [line for line in lines[1:] if f";{DAY};" in line]
    assert len(rows) > 50, "the day has loop counts"
    path = tmp_path / "counts-one-day.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.timeout(900)
def test_bologna_morning_peak_is_fitted_and_calibrated(tmp_path, planner, run_queued_jobs, api_as) -> None:  # noqa: ANN001
    network = import_sumo_network(
        path=BOLOGNA / "joined_buslanes.net.xml", name=NETWORK, route_files=[BOLOGNA / "joined.rou.xml"]
    )
    assert network.run.state == "succeeded"
    stored = RoadNetwork.objects.get(name=NETWORK)
    assert stored.edges == RoadSegment.objects.filter(source=NETWORK).count() > 200
    counts = import_counts(path=_one_day(tmp_path), network=NETWORK, time_zone="Europe/Rome")
    assert counts.counts["readings"].created > 85 * 20

    scenario = create_scenario(
        document={
            "name": "Bologna morning peak, calibrated",
            "network": NETWORK,
            "begin": 7 * 3600,
            "end": 9 * 3600,
            "interval": 900,
            "time_zone": "Europe/Rome",
            "demand": {"source": "counts", "date": DAY_ISO},
            "seeds": [1],
        },
        owner=planner,
    )
    run = start_run(scenario=scenario, owner=planner, enqueue=False)
    (job,) = run_queued_jobs()
    assert job.state == JobState.SUCCEEDED, job.error
    assert f"counts of {DAY_ISO}" in job.log  # fitted now, or earlier by an identical run (cached)
    run.refresh_from_db()
    assert run.state == RunState.SUCCEEDED

    rows = list(CalibrationRow.objects.filter(run=run))
    segments = {r.segment_id for r in rows}
    assert len(segments) > 30 and {r.hour_begin for r in rows} == {7 * 3600, 8 * 3600}
    for r in rows:
        assert r.geh == pytest.approx(geh(r.observed, r.simulated))
    share = sum(r.geh < 5 for r in rows) / len(rows)
    assert run.calibration["share_geh_below_5"] == pytest.approx(share)
    assert run.calibration["count"] == len(rows)
    # The fit follows the counts (measured 2026-12-02: 14 % of detector-hours within GEH 5, R2 0.37; far from
    # the DMRB 85 %: the closing note of issue 9 and bench/bench_scenario_sumo.py say what limits it). These
    # bounds catch a fit that lost the counts (random demand scores ~2-10 %, R2 < 0.3 here), not a good one.
    assert share >= 0.1, run.calibration
    assert run.calibration["r2"] >= 0.3, run.calibration

    body = api_as(planner).get(f"/api/runs/{run.pk}/calibration/").json()
    assert body["share_geh_below_5"] == pytest.approx(share) and len(body["rows"]) == len(rows)
    first = body["rows"][0]
    assert {"sensor", "code", "hour", "observed", "simulated", "geh", "lon", "lat"} <= set(first)
    assert 11.2 < first["lon"] < 11.5 and 44.4 < first["lat"] < 44.6  # Bologna
    print(f"\nBologna 07-09 on {DAY}: {run.calibration}")  # noqa: T201 - reported in the closing note
