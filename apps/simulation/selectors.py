"""Reading scenarios and run results. The results of a run are the means over its seeds, computed in
PostGIS and rendered there as GeoJSON (one statement per request, as the rest of the API does).

Per segment and period (one interval, or the whole window): flow = vehicles entering per hour; speed and
travel time weighted by the time vehicles spent on the segment (SUMO's sampledSeconds), so a segment few
vehicles used does not count as much as a busy one; waiting time = vehicle-seconds of waiting; density =
time-weighted mean vehicles per km. A seed with no vehicle on a segment in a period counts as zero flow."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Count, QuerySet

from apps.accounts.models import Role
from apps.accounts.permissions import role_of
from apps.core.geojson import GEOJSON_DECIMALS
from apps.roads.models import RoadSegment

from .models import CalibrationRow, Scenario, ScenarioRun

PLANNING_ROLES = frozenset({Role.PLANNER, Role.ADMIN})


def can_plan(user: Any) -> bool:
    return role_of(user) in PLANNING_ROLES


def scenarios_visible_to(user: Any) -> QuerySet[Scenario]:
    """Planners share their scenarios (planning is team work); nobody else sees them."""
    if not can_plan(user):
        return Scenario.objects.none()
    return Scenario.objects.select_related("owner", "base").annotate(run_count=Count("runs"))


def runs_visible_to(user: Any) -> QuerySet[ScenarioRun]:
    if not can_plan(user):
        return ScenarioRun.objects.none()
    return ScenarioRun.objects.select_related("scenario", "owner")


def finished_runs_visible_to(user: Any, ids: list[int] | None = None) -> QuerySet[ScenarioRun]:
    """The succeeded runs the user may see (optionally only these ids), newest first: what can be compared."""
    from .models import RunState

    runs = runs_visible_to(user).filter(state=RunState.SUCCEEDED).order_by("-created_at")
    return runs if ids is None else runs.filter(pk__in=ids)


_AGGREGATE = """
    SELECT r.segment_id,
           sum(r.entered) * 3600.0 / (%(duration)s * %(seeds)s) AS flow_veh_h,
           sum(r.sampled_seconds * r.speed_kmh) / nullif(sum(r.sampled_seconds) FILTER (WHERE r.speed_kmh IS NOT NULL), 0)
               AS speed_kmh,
           sum(r.sampled_seconds * r.travel_time_s) / nullif(sum(r.sampled_seconds) FILTER (WHERE r.travel_time_s IS NOT NULL), 0)
               AS travel_time_s,
           sum(r.waiting_time_s) / %(seeds)s AS waiting_time_s,
           sum(r.density * (r.interval_end - r.interval_begin)) / (%(duration)s * %(seeds)s) AS density,
           sum(r.co2_g) / %(seeds)s AS co2_g, sum(r.nox_mg) / %(seeds)s AS nox_mg, sum(r.pmx_mg) / %(seeds)s AS pmx_mg,
           sum(r.fuel_ml) / %(seeds)s AS fuel_ml, sum(r.electricity_wh) / %(seeds)s AS electricity_wh
    FROM simulation_segmentresult r JOIN simulation_seedrun s ON s.id = r.seed_run_id
    WHERE s.run_id = %(run)s AND (%(interval)s::int IS NULL OR r.interval_begin = %(interval)s::int)
    GROUP BY r.segment_id
"""


def results_sql(run: ScenarioRun, interval: int | None) -> tuple[str, dict[str, Any]]:
    """SQL (named params) of the run's per-segment results in a period: segment_id, flow_veh_h, speed_kmh,
    travel_time_s, waiting_time_s, density, and (energy runs; 0 otherwise) co2_g, nox_mg, pmx_mg, fuel_ml,
    electricity_wh summed over the period (means over seeds). For the GeoJSON here and the vector tiles (apps.tiles)."""
    return _AGGREGATE, _aggregate_params(run, interval)


def interval_starts(run: ScenarioRun) -> set[int]:
    from .results import interval_list

    return {begin for begin, _ in interval_list(run)}


def _period(run: ScenarioRun, interval: int | None) -> float:
    doc = run.document
    if interval is None:
        return float(doc["end"] - doc["begin"])
    return float(min(interval + int(doc.get("interval", 900)), doc["end"]) - interval)


def _aggregate_params(run: ScenarioRun, interval: int | None) -> dict[str, Any]:
    seeds = max(run.seed_runs.exclude(kpis={}).count(), 1)
    return {"run": run.pk, "interval": interval, "duration": _period(run, interval), "seeds": seeds}


def _bbox_sql(bbox: tuple[float, float, float, float] | None, column: str = "g.geom") -> str:
    return "" if bbox is None else f"AND {column} && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)"


def _bbox_params(bbox: tuple[float, float, float, float] | None) -> dict[str, float]:
    return {} if bbox is None else dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))


def _round(column: str, digits: int = 2) -> str:
    return f"round(({column})::numeric, {digits})"


def segments_geojson(run: ScenarioRun, *, interval: int | None, bbox: tuple[float, float, float, float] | None) -> str:
    """A FeatureCollection: one feature per segment with results in the period."""
    props = ", ".join(
        f"'{name}', {_round('a.' + name)}"
        for name in (
            "flow_veh_h", "speed_kmh", "travel_time_s", "waiting_time_s", "density", "co2_g", "nox_mg", "pmx_mg",
            "fuel_ml", "electricity_wh",
        )
    )  # fmt: skip
    sql = f"""
        SELECT json_build_object('type', 'FeatureCollection', 'run', %(run)s, 'interval', %(interval)s::int,
               'features', coalesce(json_agg(json_build_object(
                   'type', 'Feature', 'id', g.id,
                   'geometry', ST_AsGeoJSON(g.geom, {GEOJSON_DECIMALS})::json,
                   'properties', json_build_object('segment', g.id, 'name', g.name, {props})
               ) ORDER BY g.id), '[]'::json))::text
        FROM ({_AGGREGATE}) a JOIN roads_roadsegment g ON g.id = a.segment_id
        WHERE true {_bbox_sql(bbox)}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {**_aggregate_params(run, interval), **_bbox_params(bbox)})
        return str(cursor.fetchone()[0])


DIFFERENCE_FIELDS = {
    "flow_veh_h": "coalesce(a.flow_veh_h, 0)",
    "flow_base": "coalesce(b.flow_veh_h, 0)",
    "flow_diff": "coalesce(a.flow_veh_h, 0) - coalesce(b.flow_veh_h, 0)",
    "flow_pct": "100 * (coalesce(a.flow_veh_h, 0) - b.flow_veh_h) / nullif(b.flow_veh_h, 0)",
    "speed_kmh": "a.speed_kmh",
    "speed_base": "b.speed_kmh",
    "speed_diff": "a.speed_kmh - b.speed_kmh",
    "speed_pct": "100 * (a.speed_kmh - b.speed_kmh) / nullif(b.speed_kmh, 0)",
    "travel_time_diff": "a.travel_time_s - b.travel_time_s",
}


def difference_rows_sql(run: ScenarioRun, against: ScenarioRun, *, interval: int | None) -> tuple[str, dict[str, Any]]:
    """SQL (named params) with one row per segment either run used: pk, geom, name and DIFFERENCE_FIELDS
    (rounded). A segment used in only one of them (e.g. closed in the scenario) counts as zero flow in the other."""
    a_sql = _AGGREGATE.replace("%(", "%(a_")
    b_sql = _AGGREGATE.replace("%(", "%(b_")
    params = {f"a_{k}": v for k, v in _aggregate_params(run, interval).items()}
    params |= {f"b_{k}": v for k, v in _aggregate_params(against, interval).items()}
    columns = ", ".join(f"{_round(expr)} AS {name}" for name, expr in DIFFERENCE_FIELDS.items())
    sql = f"""
        SELECT g.id AS pk, g.geom, g.name, {columns}
        FROM ({a_sql}) a FULL JOIN ({b_sql}) b ON b.segment_id = a.segment_id
        JOIN roads_roadsegment g ON g.id = coalesce(a.segment_id, b.segment_id)
    """
    return sql, params


def difference_geojson(
    run: ScenarioRun, against: ScenarioRun, *, interval: int | None, bbox: tuple[float, float, float, float] | None
) -> str:
    """Per segment: the run's flow and speed, the other run's, and the difference (absolute and percent)."""
    rows_sql, params = difference_rows_sql(run, against, interval=interval)
    props = ", ".join(f"'{name}', d.{name}" for name in DIFFERENCE_FIELDS)
    sql = f"""
        SELECT json_build_object('type', 'FeatureCollection', 'run', %(a_run)s, 'against', %(b_run)s,
               'interval', %(a_interval)s::int,
               'features', coalesce(json_agg(json_build_object(
                   'type', 'Feature', 'id', d.pk,
                   'geometry', ST_AsGeoJSON(d.geom, {GEOJSON_DECIMALS})::json,
                   'properties', json_build_object('segment', d.pk, 'name', d.name, {props})
               ) ORDER BY d.pk), '[]'::json))::text
        FROM ({rows_sql}) d
        WHERE true {_bbox_sql(bbox, "d.geom")}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, **_bbox_params(bbox)})
        return str(cursor.fetchone()[0])


def calibration_rows(run: ScenarioRun) -> list[dict[str, Any]]:
    rows = CalibrationRow.objects.filter(run=run).select_related("sensor").order_by("segment_id", "hour_begin")
    return [
        {
            "sensor": r.sensor_id,
            "code": r.sensor.code,
            "sensors": r.sensor_ids,
            "segment": r.segment_id,
            "hour": r.hour_begin,
            "observed": r.observed,
            "simulated": round(r.simulated, 2),
            "geh": round(r.geh, 3),
            "lon": r.sensor.geom.x,
            "lat": r.sensor.geom.y,
        }
        for r in rows
    ]


def describe_changes(document: dict[str, Any], base: dict[str, Any] | None) -> list[str]:
    """ "What changed" against the base, in words: edits added and removed, and other keys that differ."""
    base_edits = (base or {}).get("edits", [])
    edits = document.get("edits", [])
    ids = {e["segment"] for e in [*edits, *base_edits] if "segment" in e}
    names = dict(RoadSegment.objects.filter(id__in=ids).values_list("id", "name"))
    out = [f"+ {describe_edit(e, names)}" for e in edits if e not in base_edits]
    out += [f"- {describe_edit(e, names)}" for e in base_edits if e not in edits]
    if base is not None:
        for key in ("network", "begin", "end", "demand", "seeds", "interval", "energy", "fleet", "charging", "day"):
            if document.get(key) != base.get(key):
                out.append(f"{key}: {base.get(key)} -> {document.get(key)}")
    return out


def describe_edit(edit: dict[str, Any], names: dict[int, str]) -> str:
    kind = edit["type"]
    if "segment" in edit:
        where = f"{names.get(edit['segment']) or 'unnamed road'} (segment {edit['segment']})"
        if kind == "close_segment":
            return f"close {where}"
        if kind == "speed_limit":
            return f"speed limit {edit['kmh']:g} km/h on {where}"
        if kind == "add_charging_station":
            return f"new charger, {edit['power_kw']:g} kW x {edit['points']}, on {where}"
        return f"{edit['lanes']} lanes on {where}"
    if kind == "ev_share":
        return f"electric cars {edit['share']:.0%} of the fleet"
    if "district" in edit:
        return f"demand x{edit['factor']:g} for trips {edit.get('direction', 'both')} district {edit['district']}"
    return f"demand x{edit['factor']:g} city-wide"


def substations_geojson(run: ScenarioRun) -> str:
    """The run's grid: one feature per substation (its point; its service area as `area`), with capacity,
    peak load and loading, hours above 100 %, and its loading time series (`series`: interval begin,
    buildings/stations/destinations kW, loading %)."""
    sql = f"""
        SELECT json_build_object('type', 'FeatureCollection', 'run', %(run)s, 'grid', r.grid,
               'features', coalesce((
                   SELECT json_agg(json_build_object(
                       'type', 'Feature', 'id', g.key,
                       'geometry', ST_AsGeoJSON(g.geom, {GEOJSON_DECIMALS})::json,
                       'properties', json_build_object(
                           'key', g.key, 'name', g.name, 'synthetic', g.synthetic, 'capacity_kva', g.capacity_kva,
                           'capacity_source', g.capacity_source, 'buildings', g.buildings,
                           'peak_kw', round(g.peak_kw::numeric, 1),
                           'peak_loading_pct', round(g.peak_loading_pct::numeric, 1),
                           'overload_hours', g.overload_hours,
                           'area', ST_AsGeoJSON(g.area, {GEOJSON_DECIMALS})::json,
                           'series', (SELECT json_agg(json_build_object(
                                          'begin', l.interval_begin, 'end', l.interval_end,
                                          'buildings_kw', round(l.buildings_kw::numeric, 2),
                                          'stations_kw', round(l.stations_kw::numeric, 2),
                                          'destinations_kw', round(l.destinations_kw::numeric, 2),
                                          'loading_pct', round(l.loading_pct::numeric, 2)) ORDER BY l.interval_begin)
                                      FROM simulation_substationload l WHERE l.substation_id = g.id)
                       )) ORDER BY g.key)
                   FROM simulation_gridsubstation g WHERE g.run_id = r.id), '[]'::json))::text
        FROM simulation_scenariorun r WHERE r.id = %(run)s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"run": run.pk})
        return str(cursor.fetchone()[0])


def charging_stations_geojson(run: ScenarioRun) -> str:
    """The run's charging stations with the energy each put into cars over the window (mean over seeds,
    kWh), the cars it charged, and per interval (`series`)."""
    sql = f"""
        WITH seeds AS (SELECT greatest(count(*), 1) AS n FROM simulation_seedrun WHERE run_id = %(run)s),
        energy AS (
            SELECT e.station, e.interval_begin, sum(e.energy_wh) / (SELECT n FROM seeds) AS wh,
                   sum(e.vehicles)::float / (SELECT n FROM seeds) AS vehicles
            FROM simulation_stationenergy e JOIN simulation_seedrun s ON s.id = e.seed_run_id
            WHERE s.run_id = %(run)s GROUP BY 1, 2
        )
        SELECT json_build_object('type', 'FeatureCollection', 'run', %(run)s,
               'features', coalesce(json_agg(json_build_object(
                   'type', 'Feature', 'id', c.key,
                   'geometry', ST_AsGeoJSON(c.geom, {GEOJSON_DECIMALS})::json,
                   'properties', json_build_object(
                       'key', c.key, 'name', c.name, 'asset', c.asset_id, 'segment', c.segment_id,
                       'power_kw', c.power_kw, 'points', c.points, 'placed', c.placed, 'substation', c.substation_key,
                       'energy_kwh', coalesce((SELECT round((sum(wh) / 1000)::numeric, 3) FROM energy WHERE station = c.key), 0),
                       'vehicles', coalesce((SELECT round(sum(vehicles)::numeric, 1) FROM energy WHERE station = c.key), 0),
                       'series', (SELECT json_agg(json_build_object('begin', interval_begin, 'kwh', round((wh / 1000)::numeric, 3))
                                                  ORDER BY interval_begin) FROM energy WHERE station = c.key)
                   )) ORDER BY c.key), '[]'::json))::text
        FROM simulation_chargingstation c WHERE c.run_id = %(run)s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"run": run.pk})
        return str(cursor.fetchone()[0])


def published_comparisons() -> QuerySet[Any]:
    """The comparisons planners published, newest first (for the public portal)."""
    from .models import PublishedComparison

    return PublishedComparison.objects.select_related("run__scenario", "against__scenario")


# KPIs the public sees of a published comparison: traffic and emissions of the whole city, nothing about
# the grid (critical infrastructure) or any single building.
PUBLIC_KPIS = (
    "mean_travel_time_s", "mean_time_loss_s", "vehicle_km", "vehicle_hours", "trips_completed", "co2_kg", "nox_g",
    "pmx_g", "fuel_l", "electricity_kwh",
)  # fmt: skip


def published_comparison_view(comparison: Any) -> dict[str, Any]:
    """What the public sees of a published comparison: titles, what changed, KPI means of both runs and the
    difference with its 95 % interval half-widths."""
    run, against = comparison.run, comparison.against
    kpis = {}
    for name in PUBLIC_KPIS:
        a, b = run.kpis.get(name), against.kpis.get(name)
        if not a or not b:
            continue
        ci = [c for c in (a.get("ci95"), b.get("ci95")) if c is not None]
        kpis[name] = {
            "run": a["mean"], "against": b["mean"], "delta": a["mean"] - b["mean"],
            "ci95": (sum(c * c for c in ci) ** 0.5) if len(ci) == 2 else None,
        }  # fmt: skip
    return {
        "id": comparison.pk,
        "title": comparison.title,
        "summary": comparison.summary,
        "published_at": comparison.published_at.isoformat(),
        "run": {"id": run.pk, "scenario": run.scenario.name},
        "against": {"id": against.pk, "scenario": against.scenario.name},
        "changes": describe_changes(run.document, against.document),
        "kpis": kpis,
    }


def interval_totals(run: ScenarioRun) -> list[dict[str, Any]]:
    """The whole network per result interval (means over seeds): vehicles entering segments, vehicle-km,
    CO2 (kg), EV electricity (kWh) and the mean speed weighted by time on segments (for the run's time series)."""
    sql = """
        SELECT r.interval_begin, r.interval_end,
               sum(r.entered) / %(seeds)s AS entered,
               sum(r.sampled_seconds * r.speed_kmh) FILTER (WHERE r.speed_kmh IS NOT NULL)
                   / nullif(sum(r.sampled_seconds) FILTER (WHERE r.speed_kmh IS NOT NULL), 0) AS speed_kmh,
               sum(r.co2_g) / 1000.0 / %(seeds)s AS co2_kg,
               sum(r.electricity_wh) / 1000.0 / %(seeds)s AS electricity_kwh
        FROM simulation_segmentresult r JOIN simulation_seedrun s ON s.id = r.seed_run_id
        WHERE s.run_id = %(run)s
        GROUP BY 1, 2 ORDER BY 1
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, _aggregate_params(run, None))
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
