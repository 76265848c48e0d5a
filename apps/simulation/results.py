"""Storing a seed's results and summing up a run: segment results are COPied in one transaction that first
deletes what an earlier attempt of the same seed wrote (a job redelivered after its worker died writes
its results once, not twice); a run's KPIs are means over its seeds with 95 % intervals; calibration
compares the observed counts of the window with the simulated flows (GEH, R²)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction

from .counts import observed_counts
from .models import CalibrationRow, EvTrip, ScenarioRun, SeedRun, SegmentResult, StationEnergy

SEGMENT_COLUMNS = (
    "seed_run_id",
    "segment_id",
    "interval_begin",
    "interval_end",
    "entered",
    "flow_veh_h",
    "speed_kmh",
    "travel_time_s",
    "waiting_time_s",
    "density",
    "occupancy",
    "sampled_seconds",
    "co2_g",
    "nox_mg",
    "pmx_mg",
    "fuel_ml",
    "electricity_wh",
)
STATION_COLUMNS = ("seed_run_id", "station", "interval_begin", "interval_end", "energy_wh", "vehicles")
EV_TRIP_COLUMNS = (
    "seed_run_id", "vehicle", "depart_s", "arrival_s", "route_length_m", "soc_depart", "soc_arrival", "used_wh",
    "charged_wh", "station", "building_id", "substation_key",
)  # fmt: skip

# Two-sided 95 % Student t quantiles by degrees of freedom (n seeds - 1); beyond 30, the normal 1.96.
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042]  # fmt: skip


def _copy(table: str, columns: tuple[str, ...], seed_run: SeedRun, rows: Iterable[tuple[Any, ...]]) -> int:
    written = 0
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row((seed_run.pk, *row))
            written += 1
    return written


@transaction.atomic
def store_seed_results(
    seed_run: SeedRun,
    rows: Iterable[tuple[Any, ...]],
    kpis: dict[str, Any],
    *,
    stations: Iterable[tuple[Any, ...]] | None = None,
    ev_trips: Iterable[tuple[Any, ...]] | None = None,
) -> int:
    """Replace the seed run's results with `rows` (tuples in SEGMENT_COLUMNS order after the seed run id),
    its stations' energy and its electric cars' trips (STATION_COLUMNS, EV_TRIP_COLUMNS without the last,
    likewise), and record its KPIs. Returns the segment rows written."""
    SegmentResult.objects.filter(seed_run=seed_run).delete()
    StationEnergy.objects.filter(seed_run=seed_run).delete()
    EvTrip.objects.filter(seed_run=seed_run).delete()
    written = _copy("simulation_segmentresult", SEGMENT_COLUMNS, seed_run, rows)
    _copy("simulation_stationenergy", STATION_COLUMNS, seed_run, stations or ())
    _copy("simulation_evtrip", EV_TRIP_COLUMNS, seed_run, ((*r, "") for r in ev_trips or ()))
    seed_run.kpis = kpis
    seed_run.save(update_fields=["kpis", "network_hash", "demand"])
    return written


def mean_interval(values: list[float]) -> dict[str, float | None]:
    """Mean and the half-width of its 95 % confidence interval (Student t over the seeds; None for one)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return {"mean": mean, "ci95": None}
    t = _T95[len(values) - 2] if len(values) - 1 <= len(_T95) else 1.96
    return {"mean": mean, "ci95": t * statistics.stdev(values) / math.sqrt(len(values))}


def aggregate_kpis(run: ScenarioRun) -> dict[str, Any]:
    """Per KPI: mean over the seeds with its 95 % interval, and each seed's value."""
    per_seed = {s.seed: s.kpis for s in run.seed_runs.all()}
    names = sorted({k for kpis in per_seed.values() for k, v in kpis.items() if isinstance(v, int | float)})
    out: dict[str, Any] = {}
    for name in names:
        values = [float(kpis[name]) for kpis in per_seed.values() if isinstance(kpis.get(name), int | float)]
        if values:
            out[name] = {**mean_interval(values), "seeds": values}
    return out


def simulated_hourly(run: ScenarioRun, segment_ids: list[int]) -> dict[tuple[int, int], float]:
    """(segment, hour begin) -> vehicles entering in that hour, mean over the run's seeds."""
    begin = int(run.document["begin"])
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT segment_id, hour, avg(total) FROM (
                SELECT r.seed_run_id, r.segment_id,
                       %s + 3600 * floor((r.interval_begin - %s) / 3600.0)::int AS hour, sum(r.entered) AS total
                FROM simulation_segmentresult r JOIN simulation_seedrun s ON s.id = r.seed_run_id
                WHERE s.run_id = %s AND r.segment_id = ANY(%s)
                GROUP BY 1, 2, 3
            ) t GROUP BY 1, 2
            """,
            [begin, begin, run.pk, segment_ids],
        )
        sums: dict[tuple[int, int], float] = {(int(s), int(h)): float(v) for s, h, v in cursor.fetchall()}
    seeds = run.seed_runs.count()
    # A seed in which no vehicle entered a segment in an hour has no row for it: it counts as 0 in the mean.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT r.segment_id, %s + 3600 * floor((r.interval_begin - %s) / 3600.0)::int,
                   count(DISTINCT r.seed_run_id)
            FROM simulation_segmentresult r JOIN simulation_seedrun s ON s.id = r.seed_run_id
            WHERE s.run_id = %s AND r.segment_id = ANY(%s) GROUP BY 1, 2
            """,
            [begin, begin, run.pk, segment_ids],
        )
        for segment, hour, present in cursor.fetchall():
            key = (int(segment), int(hour))
            sums[key] = sums[key] * int(present) / seeds
    return sums


@transaction.atomic
def calibrate(run: ScenarioRun) -> dict[str, Any] | None:
    """Observed vs simulated per detector segment and hour, stored as CalibrationRows (replacing earlier
    ones); the summary, or None when the window has no observed counts."""
    from .sumo.calibrate import geh, summary

    observed = observed_counts(run.document)
    CalibrationRow.objects.filter(run=run).delete()
    if not observed:
        return None
    simulated = simulated_hourly(run, sorted({o.segment_id for o in observed}))
    rows = []
    for o in observed:
        sim = simulated.get((o.segment_id, o.hour_begin), 0.0)
        rows.append(
            CalibrationRow(
                run=run,
                sensor_id=o.sensor_ids[0],
                sensor_ids=list(o.sensor_ids),
                segment_id=o.segment_id,
                hour_begin=o.hour_begin,
                observed=o.count,
                simulated=sim,
                geh=geh(o.count, sim),
            )
        )
    CalibrationRow.objects.bulk_create(rows)
    share, r2, count = summary([(r.observed, r.simulated) for r in rows])
    return {"share_geh_below_5": share, "r2": r2, "count": count}


def interval_list(run: ScenarioRun) -> list[list[int]]:
    """The run's result intervals [[begin, end], ...] in seconds of the day."""
    doc = run.document
    step = int(doc.get("interval", 900))
    out, t = [], int(doc["begin"])
    while t < int(doc["end"]):
        out.append([t, min(t + step, int(doc["end"]))])
        t += step
    return out
