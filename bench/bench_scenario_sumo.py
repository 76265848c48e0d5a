"""Calibration of the morning peak on the real Bologna data (issue 9, point 2), and the timings of the
scenario building blocks: routeSampler on real counts and one simulation.

    .venv/bin/python bench/bench_scenario_sumo.py                       # random candidate routes
    .venv/bin/python bench/bench_scenario_sumo.py --city-routes --tls --vtypes --drop "0.127 2.18 10 2" \
        --options "-a 'type=\"private\" departLane=\"best\"'"              # the best fit found (below)

Method: the loops' hourly counts of Tuesday 13 Feb 2024 (61 loops report that day), 07:00-09:00. Each loop
is placed on the edge of its direction of travel (the CSV's edge_id is the nearest edge whatever its
direction: on two-way streets half the loops sit on the opposite carriageway), the lanes of a station are
summed and several stations on one edge averaged: 49-50 edges x 2 hours. routeSampler fits routes to them
(counts_routes); SUMO runs 07:00-09:00 (sumo binary, seed 1, run_options) with hourly edgeData; per
edge-hour the simulated count (vehicles entering or departing on the edge: EdgeInterval.passed) is compared
with the observed one: GEH, the share below 5 and R2 (squared correlation).

Measured 2026-12-02 (2 shared cores; GEH<5 share / R2 over the edge-hours; routeSampler's own GEH share of
the routes against the counts in brackets):
- loops summed on the CSV's edge_id, random candidates:             2 % / 0.59  (gridlock: 36k of 55k never inserted)
- loops by direction, random candidates (98 %):                     10 % / 0.27  (26k waiting, 2,175 teleports)
- the same with the scenario's signal programs (--tls):             12 % / 0.34
- candidates = the scenario's own count-derived routes incl. its
  bus-lane ("ignoring") routes:                                     16 % / 0.24  (wrongLane teleports)
- candidates = its passenger routes only (--city-routes), stations
  averaged, its vTypes (62 %):                                      49 % / 0.59  (0 teleports, 3.6k waiting)
- the same without loop "0.127 2.18 10 2" (22 veh/h on ba1[1], the
  only way into b1[1] counted 1,341: it starved the corridor) (78 %): 56 % / 0.90  (07-08h 67 %, 08-09h 45 %)
- the same plus random candidates, --weighted (96 %):              56 % / 0.77  (28k vehicles, 644 teleports)
- reference, the scenario's own demand (11k veh/h) vs 08-09h:       28 % / 0.59
routeSampler's --optimize (and --minimize-vehicles) needs scipy, not installed here."""

from __future__ import annotations

import argparse
import csv
import math
import shlex
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.simulation.sumo import calibrate  # noqa: E402
from apps.simulation.sumo.demand import SAMPLER_OPTIONS, EdgeCount, counts_routes, random_routes  # noqa: E402
from apps.simulation.sumo.outputs import edgedata_additional, read_edgedata, read_statistics, run_options  # noqa: E402
from apps.simulation.sumo.runner import SimulationSpec, run_binary  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "bologna-joined"
NET = DATA / "joined_buslanes.net.xml"
HOURS = (7, 8)


def _bearing(shape: list[tuple[float, float]], x: float, y: float) -> float:
    """Compass bearing (degrees) of the shape's segment nearest to (x, y)."""
    import sumolib

    segments = list(zip(shape, shape[1:], strict=False))
    (x1, y1), (x2, y2) = min(segments, key=lambda s: sumolib.geomhelper.distancePointToLine((x, y), *s))
    return math.degrees(math.atan2(x2 - x1, y2 - y1)) % 360


def _turn(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


def directed_edge(net: object, row: dict[str, str], radius: float = 60.0) -> str | None:
    """The loop's edge in its direction of travel: the nearest edge within radius whose bearing is within
    60 degrees of the loop's (the CSV's `angolo` is counter-clockwise from north: bearing = 360 - angolo).
    The CSV's edge_id is the nearest edge whatever its direction: on a two-way street, half the loops sit
    on the opposite carriageway's edge."""
    lat, lon = (float(v) for v in row["geopoint"].split(","))
    x, y = net.convertLonLat2XY(lon, lat)  # type: ignore[attr-defined]
    heading = (360 - float(row["angolo"])) % 360
    candidates = []
    for edge, distance in net.getNeighboringEdges(x, y, radius):  # type: ignore[attr-defined]
        if edge.getFunction() == "internal" or not edge.allows("passenger"):
            continue
        if _turn(_bearing(edge.getShape(), x, y), heading) <= 60:
            candidates.append((distance, edge.getID()))
    return min(candidates)[1] if candidates else None


def day_counts(
    date: str,
    hours: tuple[int, ...] = HOURS,
    *,
    directed: bool = True,
    stations: bool = True,
    drop: frozenset[str] = frozenset(),
) -> list[EdgeCount]:
    """Hourly counts of one day (dd/mm/yyyy) per edge and hour. directed: each loop on the edge of its
    direction of travel (else the CSV's edge_id). A loop code "A B d n" is lane n of the station between
    nodes A and B in direction d: the lanes of a station are summed; stations: where several stations lie
    on one edge (they count the same vehicles), their mean (else everything on the edge is summed)."""
    import sumolib

    net = sumolib.net.readNet(str(NET))
    per_station: dict[tuple[str, str, int], float] = defaultdict(float)
    unplaced = set()
    with (DATA / "loop_counts_2024.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter=";"):
            if row["data"] != date or not row["edge_id"] or row["codice_spira"] in drop:
                continue
            edge = directed_edge(net, row) if directed else row["edge_id"]
            if edge is None:
                unplaced.add(row["codice_spira"])
                continue
            station = row["codice_spira"].rsplit(" ", 1)[0] if stations else "all"
            for h in hours:
                per_station[(edge, station, h)] += float(row[f"{h:02d}:00-{h + 1:02d}:00"])
    if unplaced:
        print(f"loops with no edge in their direction within 60 m (left out): {sorted(unplaced)}")
    grouped: dict[tuple[str, int], list[float]] = defaultdict(list)
    for (edge, _, h), n in per_station.items():
        grouped[(edge, h)].append(n)
    return [EdgeCount(e, h * 3600.0, (h + 1) * 3600.0, sum(v) / len(v)) for (e, h), v in sorted(grouped.items())]


def passenger_routes(out: Path) -> Path:
    """The scenario's own routes without its "ignoring" vehicles: those drive bus lanes a car may not."""
    lines = (DATA / "joined.rou.xml").read_text(encoding="utf-8").splitlines()
    out.write_text("\n".join(line for line in lines if 'type="ignoring"' not in line), encoding="utf-8")
    return out


def calibrate_run(edgedata: Path, counts: list[EdgeCount]) -> list[tuple[str, float, float, float]]:
    """(edge, hour begin, observed, simulated) per counted edge-hour; an edge SUMO left out had no traffic."""
    simulated = {(e.edge_id, e.begin): float(e.passed) for e in read_edgedata(edgedata)}
    return [(c.edge_id, c.begin_s, c.count, simulated.get((c.edge_id, c.begin_s), 0.0)) for c in counts]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--date", default="13/02/2024")  # a Tuesday with the most loops reporting in Feb
    parser.add_argument("--options", default=shlex.join(SAMPLER_OPTIONS))
    parser.add_argument("--candidate-period", type=float, default=None)
    parser.add_argument(
        "--candidates", type=Path, nargs="*", default=None, help="candidate routes, e.g. the scenario's own"
    )
    parser.add_argument("--city-routes", action="store_true", help="the scenario's passenger routes as candidates")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--teleport", type=float, default=300.0)
    parser.add_argument("--undirected", action="store_true", help="loops on the CSV's edge_id as given")
    parser.add_argument("--drop", action="append", default=[], help="a loop code to leave out")
    parser.add_argument("--sum-stations", action="store_true", help="sum all loops of an edge")
    parser.add_argument("--tls", action="store_true", help="the scenario's own signal programs")
    parser.add_argument("--vtypes", action="store_true", help="the scenario's own vehicle types (-a type=...)")
    args = parser.parse_args()
    counts = day_counts(
        args.date, directed=not args.undirected, stations=not args.sum_stations, drop=frozenset(args.drop)
    )
    begin, end = HOURS[0] * 3600.0, (HOURS[-1] + 1) * 3600.0
    print(
        f"{args.date}: {len(counts)} edge-hours on {len({c.edge_id for c in counts})} edges, "
        f"{sum(c.count for c in counts):.0f} vehicles counted"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        candidates = list(args.candidates or [])
        if args.city_routes:
            candidates.append(passenger_routes(work / "city.rou.xml"))
        if args.candidate_period:
            started = time.monotonic()
            candidates = [
                *(candidates or []),
                random_routes(
                    NET, work / "cand.rou.xml", begin=0, end=3600, period=args.candidate_period, seed=args.seed
                ),
            ]
            print(f"candidates: {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        report = counts_routes(
            NET,
            work / "fit.rou.xml",
            counts=counts,
            begin=begin,
            end=end,
            seed=args.seed,
            candidates=candidates or None,
            options=shlex.split(args.options),
        )
        print(
            f"routeSampler {args.options!r}: {time.monotonic() - started:.1f} s (with candidates), "
            f"{report.vehicles} vehicles, {report.distinct_routes} routes; its summary: {report.summary}"
        )
        additional = edgedata_additional(work / "ed.add.xml", work / "ed.xml", 3600, begin, end)
        spec = SimulationSpec(
            net_file=NET,
            route_files=(report.routes,),
            additional_files=(
                additional,
                *([DATA / "joined_tls.add.xml"] if args.tls else []),
                *([DATA / "joined_vtypes.add.xml"] if args.vtypes else []),
            ),
            begin_s=begin,
            end_s=end,
            seed=args.seed,
            options=run_options(work / "stats.xml", time_to_teleport_s=args.teleport),
        )
        outcome = run_binary(spec, report_every_s=600)
        stats = read_statistics(work / "stats.xml")
        print(
            f"simulation: {outcome.wall_seconds:.1f} s; vehicles {stats['vehicles']}; teleports {stats['teleports']}; "
            f"trips {stats.get('vehicleTripStatistics', {})}"
        )
        rows = calibrate_run(work / "ed.xml", counts)
        share, r2, n = calibrate.summary([(o, s) for _, _, o, s in rows])
        print(f"CALIBRATION: GEH<5 {share:.1%} of {n} edge-hours, R2 {r2:.3f}")
        for hour in sorted({h for _, h, _, _ in rows}):
            share, r2, n = calibrate.summary([(o, s) for _, h, o, s in rows if h == hour])
            print(f"  from {hour / 3600:02.0f}:00: GEH<5 {share:.1%} of {n}, R2 {r2:.3f}")
        for edge, hour, observed, simulated in sorted(rows, key=lambda r: -calibrate.geh(r[2], r[3]))[:12]:
            print(
                f"  {edge:>20} {hour / 3600:02.0f}h observed {observed:6.0f} simulated {simulated:6.0f} "
                f"GEH {calibrate.geh(observed, simulated):5.1f}"
            )


if __name__ == "__main__":
    main()
