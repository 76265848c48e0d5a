"""The energy side of a scenario seed: where its charging stations go on the SUMO network, the fleet hook
that makes cars petrol, diesel or electric (and sends low electric cars to charge), and turning SUMO's
emissions, charging and battery outputs into stored rows and KPIs. The grid (substations, their load and
loading over the window) is computed once per run from these rows: grid.py. docs/energy.md."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.gis.geos import Point
from django.db import connection, transaction

from apps.roads.networks import CITY

from .models import ChargingStation, ScenarioRun
from .sumo import charging, fleet
from .sumo.network import DRIVABLE

DEFAULT_STATION_KW = 22.0  # an AC public charger, the most common kind in European cities
DEFAULT_STATION_POINTS = 2
MAX_ASSET_DISTANCE_M = 150.0  # a stored charger further than this from every drivable road is left out
DESTINATION_EFFICIENCY = 0.9  # wall to battery at a home or workplace charger


def _kw_from_tags(tags: dict[str, Any]) -> float | None:
    """The charging power an OSM charging station's tags give (charging_station:output, socket:*:output)."""
    for key, value in sorted(tags.items()):
        if key == "charging_station:output" or (key.startswith("socket:") and key.endswith(":output")):
            text = str(value).lower().replace(",", ".").split(";")[0].strip()
            number = "".join(ch for ch in text if ch.isdigit() or ch == ".")
            try:
                kw = float(number)
            except ValueError:
                continue
            return kw / 1000 if text.endswith("w") and not text.endswith("kw") else kw
    return None


@dataclass(frozen=True)
class PlacedStation:
    spec: charging.StationSpec
    name: str
    asset_id: int | None
    segment_id: int
    lon: float
    lat: float


def station_candidates(doc: dict[str, Any], edge_of: Callable[[int], str]) -> list[PlacedStation]:
    """The run's charging stations: stored charging_station assets on the nearest drivable segment of the
    network (within MAX_ASSET_DISTANCE_M), then the scenario's add_charging_station edits. PostGIS finds
    the segment and the position along it."""
    network = doc["network"]
    highway = "AND s.highway = ANY(%(drivable)s)" if network == CITY else ""
    source = "s.source <> ALL(%(imported)s)" if network == CITY else "s.source = %(network)s"
    from apps.roads.models import RoadNetwork

    params = {
        "drivable": list(DRIVABLE),
        "imported": list(RoadNetwork.objects.values_list("name", flat=True)) or [""],
        "network": network,
        "max": MAX_ASSET_DISTANCE_M,
    }
    placed: list[PlacedStation] = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT a.id, a.name, a.tags, n.id, n.pos, ST_X(ST_PointOnSurface(a.geom)), ST_Y(ST_PointOnSurface(a.geom))
            FROM assets_utilityasset a
            CROSS JOIN LATERAL (
                SELECT s.id, ST_LineLocatePoint(s.geom, ST_PointOnSurface(a.geom)) * ST_Length(s.geom::geography) AS pos,
                       ST_Distance(s.geom::geography, a.geom::geography) AS d
                FROM roads_roadsegment s WHERE {source} {highway}
                ORDER BY s.geom <-> a.geom LIMIT 1
            ) n
            WHERE a.kind = 'charging_station' AND n.d <= %(max)s ORDER BY a.id
            """,  # noqa: S608 - the two fragments are constants chosen above
            params,
        )
        for asset_id, name, tags, segment, pos, lon, lat in cursor.fetchall():
            tags = json.loads(tags) if isinstance(tags, str) else (tags or {})
            try:
                points = int(str(tags.get("capacity", "")).strip())
            except ValueError:
                points = DEFAULT_STATION_POINTS
            spec = charging.StationSpec(
                key=f"asset-{asset_id}",
                edge=edge_of(segment),
                position_m=max(float(pos) - 4.0, 0.0),
                power_kw=_kw_from_tags(tags) or DEFAULT_STATION_KW,
                points=min(max(points, 1), 50),
            )
            placed.append(PlacedStation(spec, name or "", asset_id, segment, lon, lat))
        for index, edit in enumerate(doc["edits"]):
            if edit["type"] != "add_charging_station":
                continue
            cursor.execute(
                """
                SELECT ST_X(p), ST_Y(p) FROM (
                    SELECT ST_LineInterpolatePoint(geom, least(%s / greatest(ST_Length(geom::geography), 0.01), 1.0)) AS p
                    FROM roads_roadsegment WHERE id = %s
                ) t
                """,
                [edit["position_m"], edit["segment"]],
            )
            row = cursor.fetchone()
            if row is None:
                continue
            spec = charging.StationSpec(
                key=f"edit-{index}",
                edge=edge_of(edit["segment"]),
                position_m=float(edit["position_m"]),
                power_kw=float(edit["power_kw"]),
                points=int(edit["points"]),
            )
            placed.append(PlacedStation(spec, f"New charger ({edit['power_kw']:g} kW)", None, edit["segment"], *row))
    return placed


def record_stations(run: ScenarioRun, stations: Iterable[PlacedStation], skipped: set[str]) -> None:
    """The run's stations as placed (the same for every seed: written once, later seeds change nothing)."""
    with transaction.atomic():
        ChargingStation.objects.bulk_create(
            [
                ChargingStation(
                    run=run, key=s.spec.key, name=s.name[:255], asset_id=s.asset_id, segment_id=s.segment_id,
                    geom=Point(s.lon, s.lat, srid=4326), power_kw=s.spec.power_kw, points=s.spec.points,
                    placed=s.spec.key not in skipped,
                )
                for s in stations
            ],
            ignore_conflicts=True,
        )  # fmt: skip


def segment_points(network: str, edge_of: Callable[[int], str]) -> dict[str, tuple[float, float]]:
    """edge -> the middle of its segment in metres (a local equirectangular projection: distances of a few
    hundred metres are all it is used for)."""
    from apps.roads.networks import segments_of

    with connection.cursor() as cursor:
        ids_sql, ids_params = segments_of(network).values("id").query.sql_with_params()
        cursor.execute(
            f"SELECT id, ST_X(p), ST_Y(p) FROM (SELECT id, ST_LineInterpolatePoint(geom, 0.5) AS p"
            f" FROM roads_roadsegment WHERE id IN ({ids_sql})) t",  # noqa: S608 - Django's own SQL
            ids_params,
        )
        rows = cursor.fetchall()
    if not rows:
        return {}
    lat0 = math.radians(sum(r[2] for r in rows) / len(rows))
    out = {}
    for segment, lon, lat in rows:
        try:
            out[edge_of(segment)] = (lon * 111_320 * math.cos(lat0), lat * 110_574)
        except KeyError:
            continue
    return out


def stop_finder(
    stations: list[charging.StationSpec], points: dict[str, tuple[float, float]], radius_m: float
) -> Callable[[list[str]], fleet.ChargingStop | None]:
    """(route edges) -> the charging stop for a car that must charge: a station on its route (the first it
    passes), else the station nearest its route within radius_m, else None (it charges at its destination)."""
    by_edge = {s.edge: s for s in stations}
    placed = [(s, points[s.edge]) for s in stations if s.edge in points]

    def find(edges: list[str]) -> fleet.ChargingStop | None:
        for edge in edges:
            if edge in by_edge:
                s = by_edge[edge]
                return fleet.ChargingStop(s.key, s.edge, s.power_kw * 1000)
        best, best_d = None, radius_m
        route = [points[e] for e in edges if e in points]
        for s, (sx, sy) in placed:
            d = min((math.hypot(x - sx, y - sy) for x, y in route), default=math.inf)
            if d <= best_d:
                best, best_d = s, d
        return None if best is None else fleet.ChargingStop(best.key, best.edge, best.power_kw * 1000)

    return find


def emission_totals(
    path: Path, owner: Callable[[str], int | None]
) -> tuple[dict[tuple[int, int], list[float]], dict[str, float]]:
    """Per (segment, interval begin): [co2 g, NOx mg, PMx mg, fuel ml, electricity Wh], with what cars used
    on a junction counted on the segment they came from; and run totals over every edge."""
    from .sumo.outputs import read_emissions

    per_segment: dict[tuple[int, int], list[float]] = {}
    totals = dict.fromkeys(("co2_kg", "nox_g", "pmx_g", "fuel_l", "electricity_kwh"), 0.0)
    for e in read_emissions(path):
        values = (e.co2_mg / 1000, e.nox_mg, e.pmx_mg, e.fuel_ml, e.electricity_wh)
        totals["co2_kg"] += e.co2_mg / 1e6
        totals["nox_g"] += e.nox_mg / 1000
        totals["pmx_g"] += e.pmx_mg / 1000
        totals["fuel_l"] += e.fuel_ml / 1000
        totals["electricity_kwh"] += e.electricity_wh / 1000
        segment = owner(e.edge_id)
        if segment is None:
            continue
        slot = per_segment.setdefault((segment, int(e.begin)), [0.0] * 5)
        for i, v in enumerate(values):
            slot[i] += v
    return per_segment, {k: round(v, 4) for k, v in totals.items()}


@dataclass
class SeedEnergy:
    """What an energy seed adds to SUMO (the hook, the additional file, the options) and, after it ran,
    its rows: stations' energy per interval and the electric cars' trips."""

    hook: Callable[[Any, list[str]], Any]
    additional: Path
    options: tuple[str, ...]
    tally: fleet.FleetTally
    emissions_file: Path
    tripinfo_file: Path
    charging_file: Path
    station_rows: list[tuple[Any, ...]] | None = None
    ev_rows: list[tuple[Any, ...]] | None = None
    running: list[charging.EvTripInfo] | None = None

    def at_end(self, sim: Any) -> None:
        """The runner's at_end: the electric cars still driving when the window ends."""
        self.running = charging.running_evs(sim, fleet.ELECTRIC)


def prepare_seed(
    run: ScenarioRun, doc: dict[str, Any], net: Path, edge_of: Callable[[int], str], work: Path, seed: int,
    log: Callable[[str], None],
) -> SeedEnergy:  # fmt: skip
    """The fleet and the charging stations of one seed."""
    from .sumo import outputs

    ev_share = next((float(e["share"]) for e in doc["edits"] if e["type"] == "ev_share"), None)
    mix = fleet.FleetMix.of(doc["fleet"], ev_share)
    placed = station_candidates(doc, edge_of)
    lanes = charging.passenger_lanes(net, {p.spec.edge for p in placed})
    xml, skipped = charging.stations_xml([p.spec for p in placed], lanes)
    record_stations(run, placed, set(skipped))
    specs = [p.spec for p in placed if p.spec.key not in skipped]
    log(
        f"fleet: {mix.petrol:.0%} petrol, {mix.diesel:.0%} diesel, {mix.electric:.0%} electric; "
        f"{len(specs)} charging stations" + (f" ({len(skipped)} with no car lane left out)" if skipped else "")
    )
    c = doc["charging"]
    finder = stop_finder(specs, segment_points(doc["network"], edge_of) if specs else {}, float(c["search_radius_m"]))
    tally = fleet.FleetTally()
    hook = fleet.vehicle_hook(
        mix, seed=seed, threshold=float(c["threshold"]), target=float(c["target"]),
        max_stop_s=float(c["max_stop_min"]) * 60, stop_for=finder, tally=tally,
    )  # fmt: skip
    files = (work / "emissions.xml", work / "tripinfo.xml", work / "charging.xml")
    return SeedEnergy(
        hook=hook,
        additional=fleet.write_fleet_additional(work / "energy.add.xml", mix, xml),
        options=outputs.energy_options(files[1], files[2]),
        tally=tally,
        emissions_file=files[0],
        tripinfo_file=files[1],
        charging_file=files[2],
    )


def collect_seed(
    energy: SeedEnergy, doc: dict[str, Any], seed: int, segment_of: Callable[[str], int | None]
) -> dict[str, float]:
    """Read the seed's charging and battery outputs into rows (on `energy`); its energy KPIs."""
    period, begin = int(doc["interval"]), int(doc["begin"])
    stations, per_vehicle = charging.read_station_energy(energy.charging_file, begin, period)
    energy.station_rows = [
        (s.station, s.interval_begin, min(s.interval_begin + period, int(doc["end"])), s.energy_wh, s.vehicles)
        for s in stations
    ]
    trips = [*charging.read_ev_trips(energy.tripinfo_file), *(energy.running or [])]
    arrivals = {
        t.vehicle: (segment_of(t.arrival_lane.rsplit("_", 1)[0]), t.arrival_pos)
        for t in trips
        if t.arrival is not None and t.vehicle not in per_vehicle
    }
    buildings = destination_buildings(arrivals)
    rows = []
    destination_wh = 0.0
    for t in trips:
        charged, station = per_vehicle.get(t.vehicle, (0.0, ""))
        building = buildings.get(t.vehicle)
        if t.arrival is not None and not station:
            destination_wh += max(t.net_wh, 0.0) / DESTINATION_EFFICIENCY
        rows.append(
            (
                t.vehicle[:64], t.depart, t.arrival, t.route_length_m, fleet.initial_charge(t.vehicle, seed),
                t.final_wh / fleet.BATTERY_WH, t.net_wh, charged, station, building,
            )
        )  # fmt: skip
    energy.ev_rows = rows
    station_kwh = sum(s.energy_wh for s in stations) / 1000
    arrived = [r for r in rows if r[2] is not None]
    kpis = {
        "ev_trips": len(rows),
        "ev_charging_stops": energy.tally.charging_stops,
        "station_charging_kwh": round(station_kwh, 3),
        "destination_charging_kwh": round(destination_wh / 1000, 3),
        "charging_kwh": round(station_kwh + destination_wh / 1000, 3),
        "ev_battery_used_kwh": round(sum(t.net_wh for t in trips) / 1000, 3),
    }
    if arrived:
        kpis["mean_soc_arrival_pct"] = round(100 * sum(r[5] for r in arrived) / len(arrived), 1)
    return kpis


def destination_buildings(arrivals: dict[str, tuple[int | None, float]]) -> dict[str, int]:
    """vehicle -> the building nearest where its trip ended (the point at arrival_pos along its last
    segment), within 300 m; PostGIS's KNN on the buildings' footprints."""
    known = [(v, s, p) for v, (s, p) in arrivals.items() if s is not None]
    if not known:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH arrival AS (
                SELECT a.vehicle, ST_LineInterpolatePoint(s.geom,
                       least(a.pos / greatest(ST_Length(s.geom::geography), 0.01), 1.0)) AS p
                FROM unnest(%s::text[], %s::bigint[], %s::float8[]) AS a(vehicle, segment, pos)
                JOIN roads_roadsegment s ON s.id = a.segment
            )
            SELECT a.vehicle, b.id FROM arrival a
            CROSS JOIN LATERAL (
                SELECT id, geom FROM buildings_building ORDER BY geom <-> a.p LIMIT 1
            ) b
            WHERE ST_DWithin(b.geom::geography, a.p::geography, 300)
            """,
            [[k[0] for k in known], [k[1] for k in known], [k[2] for k in known]],
        )
        return dict(cursor.fetchall())
