"""Candidate routes for fitting demand to counts: the distinct routes of a city's own route files (a
calibrated SUMO model's demand knows which ways people really drive), checked by duarouter for a passenger
car, so routeSampler only picks routes a car can drive (a bus-lane route would end in a wrong-lane
teleport). Measured on Bologna (bench/bench_scenario_sumo.py): the city's own passenger routes fit the
morning peak with half the vehicles random candidates need, and random candidates gridlock the network."""

from __future__ import annotations

import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

from .demand import DemandError
from .install import binary, environment


def distinct_routes(route_files: Sequence[Path]) -> list[str]:
    """The distinct edge lists of every route in the files (vehicles' own routes and named routes), in
    the order first seen; streamed."""
    seen: dict[str, None] = {}
    for path in route_files:
        # The network's route files as GIS staff imported them; expat does not resolve external entities.
        for _, element in ET.iterparse(path):  # noqa: S314
            if element.tag == "route":
                edges = " ".join(element.get("edges", "").split())
                if edges:
                    seen.setdefault(edges, None)
            if element.tag in ("vehicle", "flow", "trip", "routes"):
                element.clear()
    return list(seen)


def passenger_candidates(net_file: Path, route_files: Sequence[Path], out: Path) -> int:
    """Write to `out` the distinct routes of the files that a passenger car can drive on the network (each
    as a vehicle of the default type, which duarouter checks lane by lane and drops when it cannot);
    return how many were kept."""
    routes = distinct_routes(route_files)
    if not routes:
        raise DemandError(f"no routes in {', '.join(p.name for p in route_files)}")
    with tempfile.TemporaryDirectory(prefix=".candidates-", dir=out.parent) as work_dir:
        work = Path(work_dir)
        given = work / "given.rou.xml"
        with given.open("w", encoding="utf-8") as fh:
            fh.write("<routes>\n")
            for i, edges in enumerate(routes):
                fh.write(f'  <vehicle id="c{i}" depart="0"><route edges={quoteattr(edges)}/></vehicle>\n')
            fh.write("</routes>\n")
        checked = work / "checked.rou.xml"
        command = [binary("duarouter"), "-n", str(net_file), "--route-files", str(given), "-o", str(checked),
                   "--ignore-errors", "--no-warnings", "--no-step-log", "--write-costs", "false"]  # fmt: skip
        # The wheel's duarouter with arguments we built; no shell.
        result = subprocess.run(command, capture_output=True, text=True, check=False, env=environment(), cwd=work)  # noqa: S603
        if result.returncode != 0 or not checked.exists():
            raise DemandError(f"duarouter could not check the candidate routes: {result.stderr.strip()[-1000:]}")
        kept = sum(1 for event, el in ET.iterparse(checked) if el.tag == "vehicle")  # noqa: S314 - our own file
        checked.replace(out)
    return kept
