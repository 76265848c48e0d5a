"""What a scenario run asks SUMO to write, and the readers of it: the edgeData additional file (per edge and
interval, aggregated inside SUMO), the sumo options of a run (statistic output with trip statistics,
teleport and route-error policy), and streaming readers of the edgeData and statistic outputs.

SUMO writes an edge's attributes only when it has them: an edge no vehicle touched in an interval has no
speed, travel time or density, so those are None here (not 0: an empty road is not a jammed one)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

# A vehicle stuck this long (s) is teleported ahead; SUMO's own default. Counted in the statistics as
# teleports: a sign of gridlock in the scenario, not hidden by a shorter value.
TIME_TO_TELEPORT_S = 300.0


@dataclass(frozen=True)
class EdgeInterval:
    """One edge in one edgeData interval. Counts are vehicles in the interval; speed in m/s; travel time
    and waiting time in s (waiting: summed over the vehicles); density veh/km; occupancy %."""

    edge_id: str
    begin: float
    end: float
    entered: int  # vehicles that drove onto the edge from another one
    left: int  # vehicles that drove off it onto another one
    departed: int  # vehicles inserted on it (their route starts here)
    arrived: int  # vehicles whose route ended on it
    sampled_seconds: float  # vehicle-seconds spent on the edge
    speed: float | None
    traveltime: float | None
    waiting_time: float | None
    time_loss: float | None
    density: float | None
    occupancy: float | None

    @property
    def flow_veh_h(self) -> float:
        """Vehicles entering the edge per hour over the interval."""
        return self.entered * 3600.0 / (self.end - self.begin)

    @property
    def passed(self) -> int:
        """Vehicles that drove over the edge's start in the interval: entered, plus departed (SUMO inserts at
        the start of the first edge by default). What a loop on the edge counts; routeSampler's count too."""
        return self.entered + self.departed


def edgedata_additional(
    path: Path, out_file: Path, period_s: float, begin: float, end: float, emissions_file: Path | None = None
) -> Path:
    """An additional file with one edgeData output: per edge and interval of period_s in [begin, end), the
    traffic measures written by SUMO to out_file. Empty edges are left out (excludeEmpty): most of a city
    is empty in any interval and the readers treat a missing edge as no traffic. With emissions_file, a
    second edgeData of type "emissions" (HBEFA/energy model sums per edge, never per vehicle) that also
    covers the junctions' internal edges, so that what cars use crossing a junction is not lost."""
    if period_s <= 0 or end <= begin:
        raise ValueError(f"edgeData needs a positive period and begin < end (got {period_s}, {begin}, {end})")
    emissions = (
        ""
        if emissions_file is None
        else f'  <edgeData id="emissions" type="emissions" file={quoteattr(str(emissions_file))}'
        f' period="{period_s:g}" begin="{begin:g}" end="{end:g}" excludeEmpty="true" withInternal="true"/>\n'
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<additional>\n'
        f'  <edgeData id="traffic" file={quoteattr(str(out_file))} period="{period_s:g}"'
        f' begin="{begin:g}" end="{end:g}" excludeEmpty="true"/>\n{emissions}</additional>\n',
        encoding="utf-8",
    )
    return path


def energy_options(tripinfo_file: Path, charging_file: Path) -> tuple[str, ...]:
    """The sumo options of an energy run: the trip output (one line per arrived car; the battery's figures
    for the electric ones), the charging stations' output, fuel in ml. Not --tripinfo-output.write-unfinished:
    it makes the trip statistics count the cars still driving as trips, which would change the traffic
    KPIs of an energy run (the cars still driving are read at the end instead: charging.running_evs)."""
    return (
        "--tripinfo-output",
        str(tripinfo_file),
        "--chargingstations-output",
        str(charging_file),
        "--emissions.volumetric-fuel",
    )


def run_options(statistics_file: Path, *, time_to_teleport_s: float = TIME_TO_TELEPORT_S) -> tuple[str, ...]:
    """The sumo options of a scenario run (SimulationSpec.options). Routes over a closed edge become trips
    routed at insertion; a vehicle that still has no route is skipped, not an abort of the whole run
    (--ignore-route-errors, counted as loaded but never inserted). --duration-log.statistics makes SUMO
    compute the vehicleTripStatistics that --statistic-output writes."""
    return (
        "--statistic-output",
        str(statistics_file),
        "--duration-log.statistics",
        "--ignore-route-errors",
        "--time-to-teleport",
        f"{time_to_teleport_s:g}",
        "--no-warnings",  # thousands of per-vehicle notes; the statistics count what matters
    )


def _optional(element: ET.Element, name: str) -> float | None:
    value = element.get(name)
    return None if value is None else float(value)


def read_edgedata(path: Path) -> Iterator[EdgeInterval]:
    """The edges of every interval of an edgeData output, streamed (a city-day file is large)."""
    begin = end = 0.0
    # SUMO's own output of a run we started; expat does not resolve external entities.
    for event, element in ET.iterparse(path, events=("start", "end")):  # noqa: S314
        if event == "start":
            if element.tag == "interval":
                begin, end = float(element.get("begin", "0")), float(element.get("end", "0"))
            continue
        if element.tag == "edge":
            yield EdgeInterval(
                edge_id=element.get("id", ""),
                begin=begin,
                end=end,
                entered=int(float(element.get("entered", "0"))),
                left=int(float(element.get("left", "0"))),
                departed=int(float(element.get("departed", "0"))),
                arrived=int(float(element.get("arrived", "0"))),
                sampled_seconds=float(element.get("sampledSeconds", "0")),
                speed=_optional(element, "speed"),
                traveltime=_optional(element, "traveltime"),
                waiting_time=_optional(element, "waitingTime"),
                time_loss=_optional(element, "timeLoss"),
                density=_optional(element, "density"),
                occupancy=_optional(element, "occupancy"),
            )
            element.clear()
        elif element.tag == "interval":
            element.clear()


# statistic-output elements read, with their numeric attributes (names as SUMO writes them).
_STATISTICS = ("vehicles", "teleports", "safety", "vehicleTripStatistics", "performance")


def read_statistics(path: Path) -> dict[str, dict[str, float]]:
    """The --statistic-output of a run: {"vehicles": {"loaded", "inserted", "running", "waiting"},
    "teleports": {"total", "jam", "yield", "wrongLane"}, "safety": {...}, "vehicleTripStatistics":
    {"count", "routeLength" (m), "speed", "duration", "waitingTime", "timeLoss", "departDelay" (means per
    trip, s), "totalTravelTime", "totalDepartDelay"}, "performance": {...}}. Trip statistics cover only the
    vehicles that arrived; an element SUMO did not write is absent."""
    root = ET.parse(path).getroot()  # noqa: S314 - SUMO's own output of a run we started
    statistics: dict[str, dict[str, float]] = {}
    for name in _STATISTICS:
        element = root.find(name)
        if element is None:
            continue
        values: dict[str, float] = {}
        for key, value in element.attrib.items():
            try:
                values[key] = float(value)
            except ValueError:
                continue  # a non-numeric attribute: nothing to aggregate
        statistics[name] = values
    return statistics


@dataclass(frozen=True)
class EdgeEmissions:
    """One edge in one interval of the emissions edgeData: mg of CO2, NOx and PMx, ml of fuel, Wh of
    electricity (net of what braking regenerated)."""

    edge_id: str
    begin: float
    co2_mg: float
    nox_mg: float
    pmx_mg: float
    fuel_ml: float
    electricity_wh: float


def read_emissions(path: Path) -> Iterator[EdgeEmissions]:
    """The edges of every interval of an emissions edgeData output (internal edges included), streamed."""
    begin = 0.0
    for event, element in ET.iterparse(path, events=("start", "end")):  # noqa: S314 - SUMO's own output
        if event == "start":
            if element.tag == "interval":
                begin = float(element.get("begin", "0"))
            continue
        if element.tag == "edge":
            yield EdgeEmissions(
                edge_id=element.get("id", ""),
                begin=begin,
                co2_mg=float(element.get("CO2_abs", "0")),
                nox_mg=float(element.get("NOx_abs", "0")),
                pmx_mg=float(element.get("PMx_abs", "0")),
                fuel_ml=float(element.get("fuel_abs", "0")),
                electricity_wh=float(element.get("electricity_abs", "0")),
            )
            element.clear()
        elif element.tag == "interval":
            element.clear()


def internal_edge_owners(net: Path) -> dict[str, str]:
    """Internal (junction) edge id -> the normal edge a car comes from when it drives over it, from the
    network's connections (`via` names the internal lane; its edge is the lane id without the index)."""
    owners: dict[str, str] = {}
    for _event, element in ET.iterparse(net, events=("end",)):  # noqa: S314 - a network we built or imported
        if element.tag == "connection":
            via = element.get("via")
            if via:
                owners.setdefault(via.rsplit("_", 1)[0], element.get("from", ""))
        elif element.tag in ("edge", "junction"):
            element.clear()
    for internal in owners:  # a junction split in two internal edges: the second's owner is the first's
        seen = 0
        while owners[internal].startswith(":") and owners[internal] in owners and seen < 8:
            owners[internal] = owners[owners[internal]]
            seen += 1
    return owners
