"""Energy scenario runs with real SUMO on the real Helsinki network: the same demand and seed with 0 % and
30 % electric cars (emissions and fuel fall, electricity and charging rise, substations serving the
chargers load up more); the energy accounts add up (the segments' electricity is what the batteries gave;
stations never deliver more than the cars took on); the API's energy fields. The grid's power flow
against a hand calculation: test_energy_grid.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db.models import Sum

from apps.jobs.models import JobState
from apps.simulation.models import (
    ChargingStation,
    EvTrip,
    GridSubstation,
    RunState,
    ScenarioRun,
    SegmentResult,
    StationEnergy,
    SubstationLoad,
)
from apps.simulation.services import create_scenario, start_run
from apps.simulation.sumo.fleet import BATTERY_WH

pytestmark = pytest.mark.django_db

WINDOW = {"begin": 8 * 3600, "end": 8 * 3600 + 1800, "interval": 600, "day": "2026-11-24"}  # a Tuesday
DEMAND = {"source": "random", "period": 1.5, "seed": 11}
FLEET = {"petrol": 0.7, "diesel": 0.3, "electric": 0.0}


def _run(planner: Any, run_queued_jobs: Any, name: str, edits: list[dict[str, Any]], **extra: Any) -> ScenarioRun:
    scenario = create_scenario(
        document={"name": name, **WINDOW, "demand": DEMAND, "seeds": [1], "fleet": FLEET, "edits": edits, **extra},
        owner=planner,
    )
    run = start_run(scenario=scenario, owner=planner, enqueue=False)
    jobs = run_queued_jobs()
    assert [j.state for j in jobs] == [JobState.SUCCEEDED], [j.error for j in jobs]
    run.refresh_from_db()
    assert run.state == RunState.SUCCEEDED, run.error
    return run


def _kpi(run: ScenarioRun, name: str) -> float:
    return float(run.kpis[name]["mean"])


def test_electric_share_moves_emissions_to_electricity_and_loads_the_grid(planner, run_queued_jobs) -> None:  # noqa: ANN001
    none = _run(planner, run_queued_jobs, "No electric cars", [{"type": "ev_share", "share": 0.0}])
    some = _run(planner, run_queued_jobs, "30 % electric", [{"type": "ev_share", "share": 0.3}])
    # the same trips in both: only the fleet differs
    assert _kpi(none, "vehicles_loaded") == _kpi(some, "vehicles_loaded") > 500
    assert _kpi(some, "co2_kg") < 0.85 * _kpi(none, "co2_kg")
    assert _kpi(some, "fuel_l") < 0.85 * _kpi(none, "fuel_l")
    assert _kpi(some, "nox_g") < _kpi(none, "nox_g")
    assert _kpi(none, "electricity_kwh") == 0 and _kpi(some, "electricity_kwh") > 1
    assert _kpi(none, "charging_kwh") == 0 and _kpi(some, "charging_kwh") > _kpi(some, "electricity_kwh") * 0.5
    assert EvTrip.objects.filter(seed_run__run=none).count() == 0
    # energy outputs do not change the traffic, nor what the traffic KPIs count (trips that arrived)
    traffic = _run(planner, run_queued_jobs, "Traffic only", [], energy=False)
    for name in ("trips_completed", "mean_travel_time_s", "vehicle_km", "teleports"):
        assert _kpi(traffic, name) == pytest.approx(_kpi(none, name), rel=1e-6), name
    assert "co2_kg" not in traffic.kpis and traffic.grid is None
    electric = EvTrip.objects.filter(seed_run__run=some)
    assert 0.2 < electric.count() / _kpi(some, "vehicles_inserted") < 0.4
    assert electric.filter(arrival_s__isnull=True).exists()  # still driving at the end: read from SUMO then
    assert electric.count() == _kpi(some, "ev_trips") > electric.filter(arrival_s__isnull=False).count() > 0

    # the grid: the same substations and building loads; more load where the cars charge
    assert none.grid and some.grid and "error" not in some.grid, some.grid
    grid_none = {g.key: g for g in GridSubstation.objects.filter(run=none)}
    grid_some = {g.key: g for g in GridSubstation.objects.filter(run=some)}
    assert grid_none.keys() == grid_some.keys() and len(grid_some) >= 2
    charged = (
        SubstationLoad.objects.filter(substation__run=some)
        .values("substation__key")
        .annotate(kw=Sum("stations_kw") + Sum("destinations_kw"))
        .filter(kw__gt=0)
    )
    charged_keys = {row["substation__key"] for row in charged}
    assert charged_keys, "no substation serves any charging"
    for key in charged_keys:
        assert grid_some[key].peak_loading_pct >= grid_none[key].peak_loading_pct
    assert any(grid_some[k].peak_loading_pct > grid_none[k].peak_loading_pct for k in charged_keys)
    for key in grid_some.keys() - charged_keys:
        assert grid_some[key].peak_loading_pct == pytest.approx(grid_none[key].peak_loading_pct, abs=0.01)
    assert _kpi(some, "peak_substation_loading_pct") >= _kpi(none, "peak_substation_loading_pct")


def test_the_energy_accounts_add_up(planner, run_queued_jobs, api_as) -> None:  # noqa: ANN001
    """Per-segment electricity summed over the run = what the batteries gave (within 2 %); stations never
    deliver more than the cars took on; the API's energy fields."""
    segment = SegmentResult.objects.none()
    from apps.roads.models import RoadSegment

    segment = RoadSegment.objects.filter(highway__in=["primary", "secondary"]).order_by("id").first()
    assert segment is not None
    run = _run(
        planner, run_queued_jobs, "Half electric, low batteries",
        [
            {"type": "ev_share", "share": 0.5},
            {"type": "add_charging_station", "segment": segment.pk, "position_m": 5, "power_kw": 150, "points": 6},
        ],
        charging={"threshold": 0.5, "search_radius_m": 2000},
    )  # fmt: skip
    trips = EvTrip.objects.filter(seed_run__run=run)
    battery_wh = trips.aggregate(wh=Sum("used_wh"))["wh"]
    segments_wh = SegmentResult.objects.filter(seed_run__run=run).aggregate(wh=Sum("electricity_wh"))["wh"]
    assert battery_wh > 1000
    assert segments_wh == pytest.approx(battery_wh, rel=0.02)

    delivered = StationEnergy.objects.filter(seed_run__run=run).aggregate(wh=Sum("energy_wh"))["wh"] or 0.0
    assert delivered > 100, "no car charged at a station"
    charged_cars = trips.exclude(station="")
    assert charged_cars.count() == run.kpis["ev_charging_stops"]["mean"] or charged_cars.count() > 0
    took_on = sum((t.soc_arrival - t.soc_depart) * BATTERY_WH + t.used_wh for t in charged_cars)
    assert delivered <= took_on * 1.001 + 1.0
    assert charged_cars.aggregate(wh=Sum("charged_wh"))["wh"] == pytest.approx(delivered, rel=1e-6)
    assert ChargingStation.objects.filter(run=run, key="edit-1", placed=True).exists()

    client = api_as(planner)
    body = client.get(f"/api/runs/{run.pk}/").json()
    for name in (
        "co2_kg",
        "nox_g",
        "pmx_g",
        "fuel_l",
        "electricity_kwh",
        "charging_kwh",
        "peak_substation_loading_pct",
    ):
        assert name in body["kpis"], name
    features = json.loads(client.get(f"/api/runs/{run.pk}/segments/").content)["features"]
    props = [f["properties"] for f in features]
    assert all({"co2_g", "nox_mg", "electricity_wh"} <= p.keys() for p in props)
    assert sum(float(p["electricity_wh"]) for p in props) == pytest.approx(segments_wh, rel=0.01)
    grid = json.loads(client.get(f"/api/runs/{run.pk}/substations/").content)
    assert grid["features"] and grid["grid"]["note"]
    first = grid["features"][0]["properties"]
    assert {"peak_loading_pct", "overload_hours", "series", "area"} <= first.keys()
    assert len(first["series"]) == 3 and first["series"][0]["begin"] == WINDOW["begin"]
    stations = json.loads(client.get(f"/api/runs/{run.pk}/charging-stations/").content)["features"]
    assert sum(f["properties"]["energy_kwh"] for f in stations) == pytest.approx(delivered / 1000, abs=0.01)
