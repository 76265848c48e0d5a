"""The grid side of a run, once its seeds have finished: the substations of the city's grid model and
their service areas (apps.energy.grid), the load on each over the window's intervals from its buildings
(apps.energy.loads), the charging stations and the electric cars recharging at their destinations (means
over the seeds), and the transformers' loading from a pandapower power flow per interval
(apps.energy.powerflow). docs/energy.md describes the model and its simplifications."""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

import numpy as np
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db.models import Sum

from apps.energy.grid import attach, building_attachment, grid_model
from apps.energy.loads import building_loads
from apps.energy.powerflow import loading_series

from .energy import DESTINATION_EFFICIENCY
from .models import ChargingStation, EvTrip, GridSubstation, ScenarioRun, StationEnergy, SubstationLoad
from .results import interval_list


def _spread(load: np.ndarray, intervals: list[list[int]], start: float, energy_wh: float, power_kw: float) -> None:
    """Add a charge of energy_wh at power_kw from `start` (s of the day) to the intervals' mean kW; what
    falls after the window is outside it and not counted."""
    end = start + energy_wh / (power_kw * 1000) * 3600
    for i, (b, e) in enumerate(intervals):
        overlap = min(e, end) - max(b, start)
        if overlap > 0:
            load[i] += power_kw * overlap / (e - b)


def compute_grid(run: ScenarioRun) -> dict[str, Any]:
    """Store the run's substations and their load and loading per interval; the grid's summary."""
    doc = run.document
    intervals = interval_list(run)
    seeds = max(run.seed_runs.count(), 1)
    grid = grid_model()
    keys = [s.key for s in grid.substations]
    n = len(intervals)
    loads = building_loads(
        grid, day=datetime.date.fromisoformat(doc["day"]), time_zone=doc["time_zone"],
        intervals=[(b, e) for b, e in intervals],
    )  # fmt: skip
    buildings_kw = {k: np.asarray(loads.get(k, np.zeros(n)), dtype=float) for k in keys}
    stations_kw = {k: np.zeros(n) for k in keys}
    destinations_kw = {k: np.zeros(n) for k in keys}
    index = {b: i for i, (b, _e) in enumerate(intervals)}

    stations = list(ChargingStation.objects.filter(run=run))
    for station, key in zip(stations, attach(grid, [(s.geom.x, s.geom.y) for s in stations]), strict=True):
        station.substation_key = key or ""
    ChargingStation.objects.bulk_update(stations, ["substation_key"])
    station_sub = {s.key: s.substation_key for s in stations}
    efficiency = 0.95  # the stations' efficiency (charging.StationSpec): the grid supplies what the cars got / it
    energy = (
        StationEnergy.objects.filter(seed_run__run=run)
        .values("station", "interval_begin")
        .annotate(wh=Sum("energy_wh"))
    )
    for delivered in energy:
        i, sub = index.get(delivered["interval_begin"]), station_sub.get(delivered["station"])
        if i is not None and sub:
            b, e = intervals[i]
            stations_kw[sub][i] += delivered["wh"] / efficiency / seeds / 1000 / ((e - b) / 3600)

    attached = building_attachment(grid)
    power = float(doc["charging"]["destination_kw"])
    trips = list(
        EvTrip.objects.filter(
            seed_run__run=run, arrival_s__isnull=False, station="", used_wh__gt=0, building_id__isnull=False
        )
    )
    for trip in trips:
        trip.substation_key = attached.get(trip.building_id or 0, "")
        if trip.substation_key:
            _spread(
                destinations_kw[trip.substation_key],
                intervals,
                trip.arrival_s or 0,
                trip.used_wh / DESTINATION_EFFICIENCY / seeds,
                power,
            )
    EvTrip.objects.bulk_update(trips, ["substation_key"], batch_size=2000)

    totals = {k: buildings_kw[k] + stations_kw[k] + destinations_kw[k] for k in keys}
    loading = loading_series(grid, {k: v.tolist() for k, v in totals.items()})
    served: dict[str, int] = defaultdict(int)
    for key in attached.values():
        served[key] += 1
    GridSubstation.objects.filter(run=run).delete()
    hours = [(e - b) / 3600 for b, e in intervals]
    peak_all = 0.0
    for s in grid.substations:
        series = np.asarray(loading[s.key], dtype=float)
        finite = series[np.isfinite(series)]
        peak = float(finite.max()) if finite.size else 0.0
        peak_all = max(peak_all, peak)
        row = GridSubstation.objects.create(
            run=run, key=s.key, name=s.name[:255], asset_id=s.asset_id, synthetic=s.synthetic,
            capacity_kva=s.capacity_kva, capacity_source=s.capacity_source, geom=Point(s.lon, s.lat, srid=4326),
            area=GEOSGeometry(s.area_geojson, srid=4326) if s.area_geojson else None, buildings=served[s.key],
            peak_kw=float(totals[s.key].max()) if n else 0.0, peak_loading_pct=round(peak, 2),
            overload_hours=round(sum(h for h, v in zip(hours, series, strict=True) if np.isfinite(v) and v > 100), 2),
        )  # fmt: skip
        SubstationLoad.objects.bulk_create(
            SubstationLoad(
                substation=row, interval_begin=b, interval_end=e, buildings_kw=float(buildings_kw[s.key][i]),
                stations_kw=float(stations_kw[s.key][i]), destinations_kw=float(destinations_kw[s.key][i]),
                loading_pct=float(series[i]) if np.isfinite(series[i]) else None,
            )
            for i, (b, e) in enumerate(intervals)
        )  # fmt: skip
    return {
        "note": grid.note,
        "substations": len(grid.substations),
        "synthetic": sum(1 for s in grid.substations if s.synthetic),
        "peak_substation_loading_pct": round(peak_all, 2),
    }
