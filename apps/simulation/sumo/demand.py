"""Traffic demand for a SUMO network: the fleet (vehicle types with their HBEFA emission classes), the demo
feed's pool of validated random routes (cached next to the network), and the demand of a scenario run:
random routes over a window (randomTrips) and routes fitted to counted edge flows (routeSampler). A
scenario's edits are applied to the demand in edits.py.

SUMO's tools run as child processes without a shell; a refusal becomes a DemandError in SUMO's own words.
Files in, files out: callers choose the paths and cache what they want."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from .install import environment, tool
from .network import SumoNetwork
from .runner import SumoError


class DemandError(SumoError):
    """A SUMO demand tool refused its inputs or failed; the message carries the tool's own words."""


@dataclass(frozen=True)
class VehicleType:
    """A SUMO vType in a fleet: its vehicle class, HBEFA emission class and share of the fleet."""

    id: str
    vclass: str
    emission_class: str
    probability: float


@dataclass(frozen=True)
class Fleet:
    """A vTypeDistribution: vehicles inserted with this type id draw one of the types by probability."""

    id: str
    types: tuple[VehicleType, ...]


# A city-centre fleet (HBEFA 4 classes; SUMO refuses unknown names at start-up). Buses and trucks are few
# but emit most of the NOx.
CITY_FLEET = Fleet(
    "city_fleet",
    (
        VehicleType("car_petrol", "passenger", "HBEFA4/PC_petrol_Euro-6ab", 0.52),
        VehicleType("car_diesel", "passenger", "HBEFA4/PC_diesel_Euro-6ab", 0.22),
        VehicleType("car_old", "passenger", "HBEFA4/PC_diesel_Euro-4", 0.08),
        VehicleType("van", "delivery", "HBEFA4/LCV_diesel_N1-III_Euro-6ab", 0.10),
        VehicleType("bus", "bus", "HBEFA4/UBus_Std_gt15-18t_Euro-VI_A-C", 0.05),
        VehicleType("truck", "truck", "HBEFA4/RT_le7.5t_Euro-VI_A-C", 0.03),
    ),
)


def route_pool(network: SumoNetwork, *, seed: int) -> Path:
    """Validated random routes for this network and seed, made once and cached next to the network.
    randomTrips prefers trips from and to the network's edge (through traffic into the centre) and
    duarouter drops the ones that cannot be driven (one-way fragments cut by the extract's border)."""
    target = network.directory / f"routes-{seed}.rou.xml"
    if target.exists():
        return target

    work = Path(tempfile.mkdtemp(prefix=".routes-", dir=network.directory))
    try:
        command = [
            sys.executable,
            tool("randomTrips.py"),
            "-n",
            str(network.net_file),
            "-o",
            str(work / "trips.xml"),
            "-r",
            str(work / "routes.rou.xml"),
            "-b",
            "0",
            "-e",
            "3600",
            "-p",
            "1",
            "--seed",
            str(seed),
            "--fringe-factor",
            "5",
            "--min-distance",
            "300",
            "--vehicle-class",
            "passenger",
            "--remove-loops",
            "--validate",
        ]
        # Our interpreter and SUMO's own tool with arguments we built; no shell.
        result = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, check=False, env=environment(), cwd=work
        )
        if result.returncode != 0 or not (work / "routes.rou.xml").exists():
            raise RuntimeError(f"randomTrips failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
        (work / "routes.rou.xml").replace(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def read_routes(path: Path) -> list[list[str]]:
    """The edge lists of every route in a route file, with sumolib's streaming parser."""
    import sumolib

    return [r.edges.split() for r in sumolib.xml.parse_fast(str(path), "route", ["edges"])]


def run_tool(script: str, arguments: list[str], *, cwd: Path) -> str:
    """Run one of SUMO's Python tools with our interpreter; its stdout, or a DemandError quoting its
    errors (the lines that say Error, else the tail of its output)."""
    command = [sys.executable, tool(script), *arguments]
    # Our interpreter and SUMO's own tool with arguments we built; no shell.
    result = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, check=False, env=environment(), cwd=cwd
    )
    if result.returncode != 0:
        lines = (result.stderr + "\n" + result.stdout).splitlines()
        errors = [line.strip() for line in lines if "error" in line.lower()] or lines[-5:]
        raise DemandError(f"{script} failed ({result.returncode}): {' | '.join(errors)[-2000:]}")
    return result.stdout


def random_routes(
    net_file: Path,
    out: Path,
    *,
    begin: float,
    end: float,
    period: float,
    seed: int,
    fringe_factor: float = 5,
    vclass: str = "passenger",
) -> Path:
    """Validated random routes departing in [begin, end), one every `period` seconds on average (fewer
    after validation: duarouter drops the trips that cannot be driven). The same arguments always give
    the same file. Written to `out` whole or not at all."""
    if end <= begin or period <= 0:
        raise DemandError(f"random routes need begin < end and a positive period (got {begin}, {end}, {period})")
    with tempfile.TemporaryDirectory(prefix=".routes-", dir=out.parent) as work:
        routes = Path(work) / "routes.rou.xml"
        # randomTrips' own defaults for the rest; --remove-loops: no U-turn detours in the routes.
        run_tool(
            "randomTrips.py",
            ["-n", str(net_file), "-o", str(Path(work) / "trips.xml"), "-r", str(routes)]
            + ["-b", f"{begin:g}", "-e", f"{end:g}", "-p", f"{period:g}", "--seed", str(seed)]
            + ["--fringe-factor", f"{fringe_factor:g}", "--vehicle-class", vclass, "--remove-loops", "--validate"],
            cwd=Path(work),
        )
        if not routes.exists():
            raise DemandError("randomTrips wrote no routes: the network has no drivable pair of edges")
        routes.replace(out)
    return out


@dataclass(frozen=True)
class EdgeCount:
    """Vehicles counted on one edge (all its lanes) in [begin_s, end_s)."""

    edge_id: str
    begin_s: float
    end_s: float
    count: float


@dataclass(frozen=True)
class SampleReport:
    """What routeSampler fitted: the routes file, its vehicles and distinct routes, and its own summary
    (total count reached, GEH share over the counted edge-intervals, per edge in the mismatch file)."""

    routes: Path
    vehicles: int
    distinct_routes: int
    count_share: float  # of the counted vehicles, the share the routes give (1 - deficit / counted)
    geh_ok_share: float  # share of the counted edge-intervals with GEH < 5 between routes and counts
    summary: str  # routeSampler's own lines
    mismatch: Path  # routeSampler's --mismatch-output: measuredCount, deficit and GEH per edge and interval


# routeSampler's own options for the fit; its --optimize (and --minimize-vehicles, which works through it)
# needs scipy, which this installation does not have: routeSampler's greedy sampling. What decides the fit
# in simulation is the candidate set (bench/bench_scenario_sumo.py, Bologna's morning peak): short random
# routes meet each count with its own vehicles, twice the vehicles the streets carry, and SUMO gridlocks;
# a city's own long routes (passing several counted edges) fit with half the vehicles.
# Vehicles enter on the lane that suits their route at the speed the road allows (SUMO's defaults, the
# rightmost lane at speed 0, queue insertions at busy entries).
SAMPLER_OPTIONS: tuple[str, ...] = ("--attributes", 'departLane="best" departSpeed="max"')
CANDIDATE_PERIOD_S = 0.2  # candidate routes: one every 0.2 s over an hour (18,000 before validation)


def write_edge_counts(path: Path, counts: Sequence[EdgeCount]) -> Path:
    """An edgeData file of the counts (attribute `entered`), one <interval> per (begin, end); counts of the
    same edge and interval (several loops on one edge) are summed."""
    intervals: dict[tuple[float, float], dict[str, float]] = {}
    for c in counts:
        if c.count < 0 or c.end_s <= c.begin_s:
            raise DemandError(f"bad count for edge {c.edge_id} in [{c.begin_s:g}, {c.end_s:g}): {c.count:g}")
        edges = intervals.setdefault((c.begin_s, c.end_s), {})
        edges[c.edge_id] = edges.get(c.edge_id, 0.0) + c.count
    lines = ["<data>"]
    for (begin, end), edges in sorted(intervals.items()):
        lines.append(f'  <interval id="counts" begin="{begin:g}" end="{end:g}">')
        lines += [f'    <edge id={quoteattr(e)} entered="{n:g}"/>' for e, n in sorted(edges.items())]
        lines.append("  </interval>")
    path.write_text("\n".join([*lines, "</data>"]) + "\n", encoding="utf-8")
    return path


def counts_routes(
    net_file: Path,
    out: Path,
    *,
    counts: Sequence[EdgeCount],
    begin: float,
    end: float,
    seed: int,
    candidates: Path | Sequence[Path] | None = None,
    options: Sequence[str] = SAMPLER_OPTIONS,
) -> SampleReport:
    """Routes whose edge flows fit the counts: routeSampler picks vehicles from candidate routes (random
    routes over the whole network when `candidates` is None; several files are pooled) so that each counted edge and interval gets
    its count, departing within the count's interval. An edge the network lacks is refused by name."""
    if not counts:
        raise DemandError("no counts to fit")
    known = {e.id for e in net_edges(net_file)}
    unknown = sorted({c.edge_id for c in counts} - known)
    if unknown:
        raise DemandError(f"counted edges not in the network: {', '.join(unknown[:20])}")
    outside = [c for c in counts if c.begin_s < begin or c.end_s > end]
    if outside:
        raise DemandError(f"count of edge {outside[0].edge_id} outside the window [{begin:g}, {end:g})")
    with tempfile.TemporaryDirectory(prefix=".sample-", dir=out.parent) as work_dir:
        work = Path(work_dir)
        if candidates is None:
            candidates = random_routes(
                net_file, work / "candidates.rou.xml", begin=0, end=3600, period=CANDIDATE_PERIOD_S, seed=seed
            )
        pool = [candidates] if isinstance(candidates, Path) else list(candidates)
        data = write_edge_counts(work / "counts.xml", counts)
        mismatch = out.with_name(out.name + ".mismatch.xml")
        stdout = run_tool(
            "routeSampler.py",
            ["-r", ",".join(str(c) for c in pool), "-d", str(data), "-o", str(work / "routes.rou.xml")]
            + ["--mismatch-output", str(mismatch), "-b", f"{begin:g}", "-e", f"{end:g}", "-s", str(seed)]
            + list(options),
            cwd=work,
        )
        (work / "routes.rou.xml").replace(out)
    return _sample_report(out, mismatch, stdout)


def net_edges(net_file: Path) -> Iterator[Any]:
    """The network's normal edges (not the internal ones inside junctions), streamed by sumolib."""
    import sumolib

    for edge in sumolib.xml.parse_fast(str(net_file), "edge", ["id"], optional=True):
        if not edge.id.startswith(":"):
            yield edge


def _sample_report(routes: Path, mismatch: Path, stdout: str) -> SampleReport:
    """Count what routeSampler wrote; its fit from its mismatch file (per counted edge and interval: the
    count, the deficit left and the GEH of the written routes against it) and its printed summary."""
    import sumolib

    vehicles, distinct = 0, set()
    for route in sumolib.xml.parse_fast(str(routes), "route", ["edges"]):
        vehicles += 1
        distinct.add(route.edges)
    measured = deficit = 0.0
    gehs: list[float] = []
    for edge in sumolib.xml.parse_fast(str(mismatch), "edge", ["measuredCount", "deficit", "GEH"]):
        measured += float(edge.measuredCount)
        deficit += max(0.0, float(edge.deficit))
        gehs.append(float(edge.GEH))
    summary = [line for line in stdout.splitlines() if "Wrote" in line or line.startswith("avg interval")]
    return SampleReport(
        routes=routes,
        vehicles=vehicles,
        distinct_routes=len(distinct),
        count_share=1 - deficit / measured if measured else 1.0,
        geh_ok_share=sum(1 for g in gehs if g < 5) / len(gehs) if gehs else 1.0,
        summary="\n".join(summary),
        mismatch=mismatch,
    )
