"""Traffic demand for a SUMO network: the fleet (vehicle types with their HBEFA emission classes) and a
pool of validated random routes (SUMO's randomTrips.py + duarouter), made once per network and seed and
cached next to the network, so the same seed always gives the same routes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .install import environment, tool
from .network import SumoNetwork


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
