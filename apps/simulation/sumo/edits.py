"""A scenario's edits applied at SUMO level: to the network (edges closed, speed limits and lane counts
changed, by netconvert on the original .net.xml) and to the demand (routes over closed edges turned into
trips that SUMO routes anew, demand scaled per origin and destination), files in, files out.

The edited network keeps every other edge id and the <location> (projection and netOffset), so results
join the stored segments and the map as the base run's do."""

from __future__ import annotations

import random
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.sax.saxutils import quoteattr

from .demand import DemandError, net_edges
from .install import binary, environment
from .runner import SumoError


class EditError(SumoError):
    """An edit names an edge the network lacks, has an impossible value, or netconvert refused it."""


def edit_network(
    net_file: Path,
    out: Path,
    *,
    close: set[str],
    speed_kmh: dict[str, float] | None = None,
    lanes: dict[str, int] | None = None,
) -> Path:
    """The network with the `close` edges removed and the speed limit (km/h) and lane count of others
    changed; written to `out` whole or not at all. An unknown edge id is refused by name (netconvert
    would ignore it silently); an edge both closed and changed stays closed."""
    speed_kmh, lanes = speed_kmh or {}, lanes or {}
    known = {edge.id for edge in net_edges(net_file)}
    unknown = sorted((close | speed_kmh.keys() | lanes.keys()) - known)
    if unknown:
        raise EditError(f"edges not in the network {net_file.name}: {', '.join(unknown[:20])}")
    bad_speed = {e: v for e, v in speed_kmh.items() if not 0 < v <= 300}
    bad_lanes = {e: n for e, n in lanes.items() if not 1 <= n <= 10}
    if bad_speed or bad_lanes:
        raise EditError(f"impossible speed limits (km/h) {bad_speed} or lane counts {bad_lanes}")
    with tempfile.TemporaryDirectory(prefix=".edit-", dir=out.parent) as work_dir:
        work = Path(work_dir)
        command = [binary("netconvert"), "-s", str(net_file), "-o", str(work / "net.net.xml"), "--no-warnings"]
        patched = (speed_kmh.keys() | lanes.keys()) - close
        if patched:
            command += ["-e", str(_patch(work / "patch.edg.xml", patched, speed_kmh, lanes))]
        if close:
            command += ["--remove-edges.explicit", ",".join(sorted(close))]
        # The wheel's netconvert with arguments we built; no shell.
        result = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, check=False, env=environment(), cwd=work
        )
        if result.returncode != 0 or not (work / "net.net.xml").exists():
            errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
            raise EditError(f"netconvert refused the edits: {' | '.join(errors or result.stderr.splitlines()[-3:])}")
        (work / "net.net.xml").replace(out)
    return out


def _patch(path: Path, edges: set[str], speed_kmh: dict[str, float], lanes: dict[str, int]) -> Path:
    """A plain-XML edge file that netconvert loads over the network: the listed attributes of existing
    edges change, the rest of each edge (shape, nodes, priority) stays."""
    lines = ["<edges>"]
    for edge in sorted(edges):
        speed = f' speed="{speed_kmh[edge] / 3.6:.4f}"' if edge in speed_kmh else ""
        count = f' numLanes="{lanes[edge]}"' if edge in lanes else ""
        lines.append(f"  <edge id={quoteattr(edge)}{speed}{count}/>")
    path.write_text("\n".join([*lines, "</edges>"]) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class TransformReport:
    """What transform_routes did, per vehicle (a flow counts as one)."""

    read: int  # vehicles, trips and flows read
    written: int  # vehicles, trips and flows written
    added: int  # extra copies made by factors above 1
    scaled_out: int  # vehicles that a factor below 1 left out
    dropped: int  # left out because their first or last edge is closed
    rerouted: int  # written as trips (from, to): their route used a closed edge; SUMO routes them anew


_FLOW_RATES = {"vehsPerHour": 1.0, "perHour": 1.0, "probability": 1.0, "period": -1.0}  # -1: divide


def transform_routes(
    routes_in: Path,
    routes_out: Path,
    *,
    closed_edges: set[str],
    factor_for: Callable[[str, str], float],
    seed: int,
    vehicle_hook: Callable[[ET.Element, list[str]], ET.Element] | None = None,
) -> TransformReport:
    """Apply a scenario's edits to a route file, streamed. A vehicle whose first or last edge is closed is
    dropped; one whose route passes a closed edge becomes a trip from its first to its last edge (SUMO
    routes it at insertion on the edited network). Demand is then scaled by factor_for(first, last): a
    vehicle is written floor(f) times plus once more with probability frac(f) (seeded), copies with the
    same depart and new ids "<id>.s<k>"; a flow's number or rate is scaled instead. Handles vehicles with
    an embedded route, vehicles referencing a <route id>, trips, and flows of either kind. vehicle_hook
    (element, route edges) -> element, where given, finishes each element written (the fleet's types);
    it sees the file's vTypes too."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    routes: dict[str, list[str]] = {}
    tally = dict.fromkeys(("read", "written", "added", "scaled_out", "dropped", "rerouted"), 0)
    depth, root = 0, None
    with routes_out.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<routes>\n')
        # The caller's route file (generated by SUMO's tools); expat does not resolve external entities.
        for event, element in ET.iterparse(routes_in, events=("start", "end")):  # noqa: S314
            if event == "start":
                root = element if root is None else root
                depth += 1
                continue
            depth -= 1
            if depth != 1:
                continue
            if element.tag == "route":
                edges = element.get("edges", "").split()
                routes[element.get("id", "")] = edges
                if not closed_edges.intersection(edges):  # a route over a closed edge would not load
                    _write(out, element)
            elif element.tag in ("vehicle", "trip", "flow"):
                tally["read"] += 1
                for written, edges in _transform(element, routes, closed_edges, factor_for, rng, tally):
                    _write(out, written if vehicle_hook is None else vehicle_hook(written, edges))
                    tally["written"] += 1
            elif element.tag == "routeDistribution":
                raise DemandError(f"{routes_in}: routeDistribution is not supported")
            elif element.tag == "vType" and vehicle_hook is not None:
                _write(out, vehicle_hook(element, []))  # the hook learns which types are cars
            else:
                _write(out, element)  # vTypes, persons, ...: unchanged
            assert root is not None
            root.clear()  # the written element is not needed again: memory stays flat
        out.write("</routes>\n")
    return TransformReport(**tally)


def _write(out: IO[str], element: ET.Element) -> None:
    element.tail = "\n"
    out.write("    " + ET.tostring(element, encoding="unicode"))


def _transform(
    element: ET.Element,
    routes: dict[str, list[str]],
    closed: set[str],
    factor_for: Callable[[str, str], float],
    rng: random.Random,
    tally: dict[str, int],
) -> list[tuple[ET.Element, list[str]]]:
    """The elements that replace one vehicle, trip or flow (none, one, or copies), with its route edges
    (of a trip: from, via..., to)."""
    name = element.get("id", "")
    embedded = element.find("route")
    if embedded is not None:
        edges = embedded.get("edges", "").split()
    elif element.get("route") is not None:
        if element.get("route") not in routes:
            raise DemandError(f"{element.tag} {name}: route {element.get('route')!r} is not defined before it")
        edges = routes[element.get("route", "")]
    else:
        edges = [element.get("from", ""), *element.get("via", "").split(), element.get("to", "")]
    if not edges or edges[0] in closed or edges[-1] in closed:
        tally["dropped"] += 1
        return []
    factor = factor_for(edges[0], edges[-1])
    if factor < 0:
        raise DemandError(f"negative demand factor {factor:g} for {element.tag} {name}")
    if closed.intersection(edges) and (embedded is not None or element.get("route") is not None):
        element = _as_trip(element, edges[0], edges[-1])
        tally["rerouted"] += 1
    elif element.get("via") and closed.intersection(edges):
        element.attrib.pop("via")  # a trip through a closed edge: SUMO finds another way
        tally["rerouted"] += 1
    if element.tag == "flow":
        return [(_scaled_flow(element, factor, rng, tally), edges)]
    copies = int(factor) + (1 if rng.random() < factor - int(factor) else 0)
    if copies == 0:
        tally["scaled_out"] += 1
    tally["added"] += max(0, copies - 1)
    result = [element]
    for k in range(1, copies):
        copy = deepcopy(element)
        copy.set("id", f"{name}.s{k}")
        result.append(copy)
    return [(e, edges) for e in result[:copies]]


def _as_trip(element: ET.Element, first: str, last: str) -> ET.Element:
    """The vehicle (or flow) as a trip from its first to its last edge, with its other attributes and
    children (stops, params), without its route."""
    tag = "flow" if element.tag == "flow" else "trip"
    attributes = {k: v for k, v in element.attrib.items() if k != "route"}
    trip = ET.Element(tag, {**attributes, "from": first, "to": last})
    trip.extend(child for child in element if child.tag != "route")
    return trip


def _scaled_flow(element: ET.Element, factor: float, rng: random.Random, tally: dict[str, int]) -> ET.Element:
    """A flow with its vehicle number (sampled like vehicles) or its rate scaled by the factor."""
    if element.get("number") is not None:
        scaled = float(element.get("number", "0")) * factor
        element.set("number", str(int(scaled) + (1 if rng.random() < scaled - int(scaled) else 0)))
    for rate, power in _FLOW_RATES.items():
        if element.get(rate) is not None and factor > 0:
            element.set(rate, f"{float(element.get(rate, '0')) * factor**power:g}")
    if factor == 0 or element.get("number") == "0":
        tally["scaled_out"] += 1
        element.set("number", "0")
    return element
