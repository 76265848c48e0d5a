"""One seed of a scenario run as a job: prepare the SUMO inputs (the network with the scenario's edits,
the demand, the outputs), simulate with progress and cancel, store the results. Each step is logged on
the job; a re-execution (a worker died) starts the seed over in a clean folder and replaces its results.

Progress: 0-10 % preparing, 10-95 % simulated time, 95-100 % storing."""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connection

from apps.core.exceptions import DomainError
from apps.jobs.models import Job
from apps.jobs.services import Progress
from apps.roads.models import RoadNetwork, RoadSegment
from apps.roads.networks import CITY, net_path, route_paths

from . import conf, energy
from .counts import observed_counts
from .models import SeedRun
from .results import store_seed_results
from .sumo import candidates, demand, edits, outputs
from .sumo.network import build_network, edge_id
from .sumo.runner import SimulationSpec, SumoError, run_binary, run_libsumo

PREPARE, SIMULATE, STORE = 10.0, 85.0, 5.0


class ScenarioFailed(DomainError):
    code = "scenario_failed"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One preparer at a time for a shared input (seeds of a run on several workers build it once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class EdgeMap:
    """SUMO edge id <-> stored segment id of a network."""

    def __init__(self, network: str) -> None:
        self.network = network
        if network == CITY:
            self._by_edge: dict[str, int] | None = None
            return
        self._by_edge = {}
        for sid, source_id, tags in RoadSegment.objects.filter(source=network).values_list("id", "source_id", "tags"):
            self._by_edge[(tags or {}).get("sumo_id") or source_id] = sid
        self._by_segment = {v: k for k, v in self._by_edge.items()}

    def segment(self, edge: str) -> int | None:
        if self._by_edge is None:
            return int(edge[3:]) if edge.startswith("seg") and edge[3:].isdigit() else None
        return self._by_edge.get(edge)

    def edge(self, segment: int) -> str:
        if self._by_edge is None:
            return edge_id(segment)
        return self._by_segment[segment]


def _base_net(run_network: str, expected_hash: str, log: Callable[[str], None]) -> tuple[Path, Path]:
    """The network file the run was queued on, and the folder its demand is cached in."""
    if run_network == CITY:
        net = build_network()
        if net.network_hash != expected_hash:
            raise ScenarioFailed(
                "the stored roads changed after this run was queued; run the scenario again to use the new roads"
            )
        log(f"network: the stored roads ({net.net_edges} edges, {'built' if net.built else 'cached'})")
        return net.net_file, net.directory
    stored = RoadNetwork.objects.filter(name=run_network).first()
    if stored is None or stored.sha256 != expected_hash:
        raise ScenarioFailed(f"network {run_network!r} was re-imported or removed after this run was queued")
    cache = conf.cache_root() / "networks" / f"{run_network}-{stored.sha256[:12]}"
    log(f"network: {run_network} (imported SUMO network, {stored.edges} edges)")
    return net_path(stored), cache


def _edited_net(doc: dict[str, Any], base: Path, folder: Path, edges: EdgeMap, log: Callable[[str], None]) -> Path:
    """The base network with the scenario's segment edits (made once per run, shared by its seeds)."""
    close = {edges.edge(e["segment"]) for e in doc["edits"] if e["type"] == "close_segment"}
    speed = {edges.edge(e["segment"]): float(e["kmh"]) for e in doc["edits"] if e["type"] == "speed_limit"}
    lanes = {edges.edge(e["segment"]): int(e["lanes"]) for e in doc["edits"] if e["type"] == "lanes"}
    if not (close or speed or lanes):
        return base
    target = folder / "edited.net.xml"
    with _locked(folder / ".net.lock"):
        if not target.exists():
            partial = folder / ".edited.net.xml"
            edits.edit_network(base, partial, close=close, speed_kmh=speed, lanes=lanes)
            partial.replace(target)
    log(f"edits: {len(close)} closed, {len(speed)} speed limits, {len(lanes)} lane changes")
    return target


def _base_routes(doc: dict[str, Any], net: Path, cache: Path, edges: EdgeMap, log: Callable[[str], None]) -> Path:
    """The scenario's demand on the unedited network, cached by what makes it (the same for every run of
    the same demand, so a scenario and its base drive the same trips)."""
    d = doc["demand"]
    if d["source"] == "random":
        key = f"random-{doc['begin']}-{doc['end']}-{d['period']:g}-{d['seed']}-{d['fringe_factor']:g}"
        target = cache / f"{key}.rou.xml"
        with _locked(cache / f".{key}.lock"):
            if not target.exists():
                demand.random_routes(
                    net, target, begin=doc["begin"], end=doc["end"], period=d["period"], seed=d["seed"],
                    fringe_factor=d["fringe_factor"],
                )  # fmt: skip
        log(f"demand: random trips every {d['period']:g} s (seed {d['seed']})")
        return target
    counts = [
        demand.EdgeCount(edges.edge(o.segment_id), o.hour_begin, o.hour_begin + 3600, o.count)
        for o in observed_counts(doc)
    ]
    if not counts:
        raise ScenarioFailed(f"no counts are stored for {d['date']} in this window any more")
    key_rows = sorted((c.edge_id, c.begin_s, c.end_s, c.count) for c in counts)
    digest = hashlib.sha256(json.dumps(key_rows).encode()).hexdigest()[:12]
    key = f"counts-{d['date']}-{doc['begin']}-{doc['end']}-{d['seed']}-{digest}"
    target = cache / f"{key}.rou.xml"
    with _locked(cache / f".{key}.lock"):
        if not target.exists():
            pool = _candidates(doc["network"], net, cache, log)
            report = demand.counts_routes(
                net, target, counts=counts, begin=doc["begin"], end=doc["end"], seed=d["seed"], candidates=pool
            )
            log(
                f"demand: {report.vehicles} vehicles on {report.distinct_routes} routes fitted to {len(counts)} counts"
                f" of {d['date']}; routeSampler reached {report.count_share:.0%} of the total count,"
                f" GEH < 5 on {report.geh_ok_share:.0%} of the counts"
            )
        else:
            log(f"demand: routes fitted to these {len(counts)} counts of {d['date']} earlier (cached)")
    return target


def _candidates(network: str, net: Path, cache: Path, log: Callable[[str], None]) -> Path | None:
    """The candidate routes counts are fitted with: the imported city model's own routes that a car can
    drive, made once per network; None (random routes over the network) when the network has none."""
    stored = RoadNetwork.objects.filter(name=network).first()
    if stored is None or not stored.route_files:
        log("candidate routes: random routes over the network (no city model routes imported with it)")
        return None
    target = cache / f"candidates-{stored.imported_at:%Y%m%d%H%M%S%f}.rou.xml"  # a re-import brings new routes
    if not target.exists():
        kept = candidates.passenger_candidates(net, route_paths(stored), cache / f".{target.name}")
        (cache / f".{target.name}").replace(target)
        log(f"candidate routes: {kept} distinct routes of the city model a car can drive")
    return target


def _factor_for(doc: dict[str, Any], edges: EdgeMap) -> Callable[[str, str], float]:
    """The demand factor of a trip from its first and last edge: the whole-city scale times every
    demand_scale edit (by district where it names one: where the trip starts, ends, or either)."""
    scale = float(doc["demand"].get("scale", 1.0))
    city_wide = [float(e["factor"]) for e in doc["edits"] if e["type"] == "demand_scale" and "district" not in e]
    by_district = [e for e in doc["edits"] if e["type"] == "demand_scale" and "district" in e]
    for f in city_wide:
        scale *= f
    starts: dict[int, set[str]] = {}
    ends: dict[int, set[str]] = {}
    if by_district:
        ids = [e["district"] for e in by_district]
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT d.id, s.id, ST_Intersects(d.geom, ST_StartPoint(s.geom)), ST_Intersects(d.geom, ST_EndPoint(s.geom))
                FROM districts_district d JOIN roads_roadsegment s ON ST_Intersects(d.geom, s.geom)
                WHERE d.id = ANY(%s)
                """,
                [ids],
            )
            for district, segment, start_in, end_in in cursor.fetchall():
                try:
                    edge = edges.edge(segment)
                except KeyError:
                    continue
                if start_in:
                    starts.setdefault(district, set()).add(edge)
                if end_in:
                    ends.setdefault(district, set()).add(edge)

    def factor(first: str, last: str) -> float:
        value = scale
        for e in by_district:
            origin = first in starts.get(e["district"], ())
            destination = last in ends.get(e["district"], ())
            hit = {"from": origin, "to": destination}.get(e.get("direction", "both"), origin or destination)
            if hit:
                value *= float(e["factor"])
        return value

    return factor


def run_seed(job: Job, progress: Progress) -> dict[str, Any]:
    """The work of a scenario_run job (apps.jobs.services.execute runs it under the job's lease)."""
    seed_run = SeedRun.objects.select_related("run").get(job=job)
    run, seed = seed_run.run, seed_run.seed
    doc = run.document
    folder = conf.runs_root() / str(run.pk)
    work = folder / f"seed-{seed}"
    shutil.rmtree(work, ignore_errors=True)  # an earlier attempt's leftovers
    work.mkdir(parents=True)

    def step(percent: float, text: str) -> None:
        progress.log(text)
        progress(percent, text, force=True)

    step(1, "preparing the network")
    edges = EdgeMap(run.network)
    base, cache = _base_net(run.network, run.network_hash, progress.log)
    net = _edited_net(doc, base, folder, edges, progress.log)
    step(4, "preparing the demand")
    routes = _base_routes(doc, base, cache, edges, progress.log)
    closed = {edges.edge(e["segment"]) for e in doc["edits"] if e["type"] == "close_segment"}
    power = energy.prepare_seed(run, doc, net, edges.edge, work, seed, progress.log) if doc.get("energy") else None
    transformed = edits.transform_routes(
        routes, work / "routes.rou.xml", closed_edges=closed, factor_for=_factor_for(doc, edges), seed=seed,
        vehicle_hook=power.hook if power else None,
    )  # fmt: skip
    seed_run.demand = dataclasses.asdict(transformed)
    progress.log(f"demand for this run: {transformed}")
    if power:
        progress.log(f"fleet of this seed: {power.tally}")

    additional = outputs.edgedata_additional(
        work / "outputs.add.xml", work / "edgedata.xml", period_s=doc["interval"], begin=doc["begin"], end=doc["end"],
        emissions_file=power.emissions_file if power else None,
    )  # fmt: skip
    # the fleet's types must be loaded before the routes that use them: additional files load first
    spec = SimulationSpec(
        net_file=net,
        route_files=(work / "routes.rou.xml",),
        additional_files=(power.additional, additional) if power else (additional,),
        begin_s=doc["begin"],
        end_s=doc["end"],
        seed=seed,
        options=outputs.run_options(statistics_file=work / "statistics.xml") + (power.options if power else ()),
    )
    span = float(doc["end"] - doc["begin"])

    def simulated(now: float, end: float) -> None:
        progress(PREPARE + SIMULATE * (now - doc["begin"]) / span, f"simulating: {_clock(now)} of {_clock(end)}")

    step(PREPARE, f"simulating {_clock(doc['begin'])}-{_clock(doc['end'])}, seed {seed}")
    runner = run_libsumo if conf.engine() == "libsumo" else run_binary
    try:
        outcome = runner(spec, progress=simulated, cancelled=lambda: False, at_end=power.at_end if power else None)
    except SumoError as exc:
        raise ScenarioFailed(str(exc)) from exc
    progress.log(f"simulated in {outcome.wall_seconds:.1f} s")

    step(PREPARE + SIMULATE, "storing the results")
    stats = outputs.read_statistics(work / "statistics.xml")
    emitted: dict[tuple[int, int], list[float]] = {}
    energy_kpis: dict[str, float] = {}
    if power:
        owners = outputs.internal_edge_owners(net)
        emitted, energy_kpis = energy.emission_totals(power.emissions_file, lambda e: edges.segment(owners.get(e, e)))
        energy_kpis.update(energy.collect_seed(power, doc, seed, edges.segment))
    rows, totals = _segment_rows(
        outputs.read_edgedata(work / "edgedata.xml"), edges, emitted, int(doc["interval"]), int(doc["end"])
    )
    kpis = {**_kpis(stats), **totals, **energy_kpis, **{f"demand_{k}": v for k, v in seed_run.demand.items()}}
    kpis["wall_seconds"] = round(outcome.wall_seconds, 2)
    seed_run.network_hash = run.network_hash
    written = store_seed_results(
        seed_run, rows, kpis, stations=power.station_rows if power else None, ev_trips=power.ev_rows if power else None
    )
    progress.log(f"stored {written} segment results")
    return {"run": run.pk, "seed": seed, "segment_results": written, "kpis": kpis}


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def _segment_rows(
    intervals: Iterable[Any], edges: EdgeMap, emitted: dict[tuple[int, int], list[float]], period: int, window_end: int
) -> tuple[list[tuple[Any, ...]], dict[str, float]]:
    """Rows for store_seed_results. A segment's vehicles in an interval are those that passed its start:
    drove onto it or were inserted on it (what a loop counts); its flow is those per hour. `emitted`: the
    emissions per (segment, interval begin), popped into the rows; what is left (a segment only crossed
    at a junction in an interval) becomes a row of its own with no traffic."""
    rows = []
    none = [0.0] * 5
    vehicle_km = vehicle_hours = 0.0
    for i in intervals:
        segment = edges.segment(i.edge_id)
        if segment is None:
            continue
        vehicle_hours += i.sampled_seconds / 3600
        if i.speed is not None:
            vehicle_km += i.sampled_seconds * i.speed / 1000
        passed = i.passed
        rows.append(
            (
                segment, int(i.begin), int(i.end), passed, passed * 3600.0 / max(i.end - i.begin, 1e-9),
                None if i.speed is None else i.speed * 3.6, i.traveltime, i.waiting_time or 0.0,
                i.density or 0.0, i.occupancy or 0.0, i.sampled_seconds,
                *emitted.pop((segment, int(i.begin)), none),
            )
        )  # fmt: skip
    for (segment, begin), values in emitted.items():
        end = min(begin + period, window_end)
        rows.append((segment, begin, end, 0, 0.0, None, None, 0.0, 0.0, 0.0, 0.0, *values))
    return rows, {"vehicle_km": round(vehicle_km, 1), "vehicle_hours": round(vehicle_hours, 2)}


# KPI name -> (statistic-output element, attribute): the API's names for SUMO's figures.
KPI_SOURCES = {
    "vehicles_loaded": ("vehicles", "loaded"),
    "vehicles_inserted": ("vehicles", "inserted"),
    "vehicles_running_at_end": ("vehicles", "running"),
    "vehicles_waiting_at_end": ("vehicles", "waiting"),
    "teleports": ("teleports", "total"),
    "trips_completed": ("vehicleTripStatistics", "count"),
    "mean_travel_time_s": ("vehicleTripStatistics", "duration"),
    "mean_time_loss_s": ("vehicleTripStatistics", "timeLoss"),
    "mean_waiting_time_s": ("vehicleTripStatistics", "waitingTime"),
    "mean_route_length_m": ("vehicleTripStatistics", "routeLength"),
    "mean_depart_delay_s": ("vehicleTripStatistics", "departDelay"),
}


def _kpis(stats: dict[str, dict[str, float]]) -> dict[str, float]:
    """The statistic output's figures under the API's names (trip means cover the trips that arrived)."""
    out = {}
    for name, (element, attribute) in KPI_SOURCES.items():
        value = stats.get(element, {}).get(attribute)
        if value is not None:
            out[name] = value
    return out
