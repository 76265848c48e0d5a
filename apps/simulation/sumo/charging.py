"""Charging stations in SUMO and what the battery devices report: the chargingStation elements of a run,
placed on a lane of the station's edge, and streaming readers of SUMO's charging station output (per
charging step, binned here into the run's intervals) and of the battery part of the trip output (one
line per electric car: energy used and regenerated, charge at arrival)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

POINT_LENGTH_M = 8.0  # lane length per charging point: a car and the gap to the next


@dataclass(frozen=True)
class StationSpec:
    """A charging station to place: on `edge`, from `position_m` along it."""

    key: str  # "asset-<id>" (stored) or "edit-<n>" (a scenario edit)
    edge: str
    position_m: float
    power_kw: float
    points: int
    efficiency: float = 0.95


def passenger_lanes(net: Path, edges: Iterable[str]) -> dict[str, tuple[str, float]]:
    """edge -> (its rightmost lane a car may use, that lane's length in m), for the given edges."""
    wanted = set(edges)
    found: dict[str, tuple[str, float]] = {}
    edge = None
    # a network file we built or imported; expat does not resolve external entities
    for event, element in ET.iterparse(net, events=("start", "end")):  # noqa: S314
        if event == "start":
            if element.tag == "edge":
                edge = element.get("id")
            continue
        if element.tag == "lane" and edge in wanted and edge not in found:
            allow, disallow = element.get("allow", ""), element.get("disallow", "")
            if (not allow or "passenger" in allow.split()) and "passenger" not in disallow.split():
                found[edge] = (element.get("id", ""), float(element.get("length", "0")))
        elif element.tag == "edge":
            element.clear()
    return found


def stations_xml(stations: Iterable[StationSpec], lanes: dict[str, tuple[str, float]]) -> tuple[str, list[str]]:
    """chargingStation elements for the stations whose edge has a car lane, and the keys left out."""
    lines, skipped = [], []
    for s in stations:
        if s.edge not in lanes:
            skipped.append(s.key)
            continue
        lane, length = lanes[s.edge]
        span = min(max(s.points * POINT_LENGTH_M, POINT_LENGTH_M), length)
        start = min(max(s.position_m, 0.0), max(length - span, 0.0))
        lines.append(
            f'    <chargingStation id={quoteattr(s.key)} lane={quoteattr(lane)} startPos="{start:.2f}"'
            f' endPos="{start + span:.2f}" power="{s.power_kw * 1000:.0f}" efficiency="{s.efficiency:g}"'
            f' chargeDelay="0" chargeInTransit="false" friendlyPos="true"/>\n'
        )
    return "".join(lines), skipped


@dataclass(frozen=True)
class StationEnergy:
    """Energy a station charged into cars in one interval, Wh."""

    station: str
    interval_begin: int
    energy_wh: float
    vehicles: int


def read_station_energy(
    path: Path, begin: int, period: int
) -> tuple[list[StationEnergy], dict[str, tuple[float, str]]]:
    """The charging station output binned into intervals of `period` s from `begin`; and per car the energy
    charged into it (Wh) over the run, with the station it charged at (the last, if several)."""
    binned: dict[tuple[str, int], float] = defaultdict(float)
    cars: dict[tuple[str, int], set[str]] = defaultdict(set)
    per_vehicle: dict[str, float] = defaultdict(float)
    where: dict[str, str] = {}
    station = vehicle = ""
    if not path.exists():
        return [], {}
    # SUMO's own output of a run we started
    for event, element in ET.iterparse(path, events=("start", "end")):  # noqa: S314
        if event == "start":
            if element.tag == "chargingStation":
                station = element.get("id", "")
            elif element.tag == "vehicle":
                vehicle = element.get("id", "")
            continue
        if element.tag == "step":
            energy = float(element.get("energyCharged", "0"))
            if energy > 0:
                slot = begin + period * int((float(element.get("time", "0")) - begin) // period)
                binned[(station, slot)] += energy
                cars[(station, slot)].add(vehicle)
                per_vehicle[vehicle] += energy
                where[vehicle] = station
            element.clear()
        elif element.tag == "vehicle":
            element.clear()
    rows = [StationEnergy(s, t, e, len(cars[(s, t)])) for (s, t), e in sorted(binned.items())]
    return rows, {v: (e, where[v]) for v, e in per_vehicle.items()}


@dataclass(frozen=True)
class EvTripInfo:
    """One electric car from the trip output (arrival None: still driving when the window ended)."""

    vehicle: str
    depart: float
    arrival: float | None
    arrival_lane: str
    arrival_pos: float
    route_length_m: float
    final_wh: float
    consumed_wh: float
    regenerated_wh: float

    @property
    def net_wh(self) -> float:
        """Energy the car's battery gave to driving: used minus regenerated."""
        return self.consumed_wh - self.regenerated_wh


def read_ev_trips(path: Path) -> Iterator[EvTripInfo]:
    """The trip output's cars that carried a battery, streamed."""
    # SUMO's own output of a run we started
    for _event, element in ET.iterparse(path, events=("end",)):  # noqa: S314
        if element.tag != "tripinfo":
            continue
        battery = element.find("battery")
        if battery is not None:
            arrival = float(element.get("arrival", "-1"))
            yield EvTripInfo(
                vehicle=element.get("id", ""),
                depart=float(element.get("depart", "0")),
                arrival=arrival if arrival >= 0 else None,
                arrival_lane=element.get("arrivalLane", ""),
                arrival_pos=float(element.get("arrivalPos", "0")),
                route_length_m=float(element.get("routeLength", "0")),
                final_wh=float(battery.get("actualBatteryCapacity", "0")),
                consumed_wh=float(battery.get("totalEnergyConsumed", "0")),
                regenerated_wh=float(battery.get("totalEnergyRegenerated", "0")),
            )
        element.clear()


def running_evs(sim: Any, electric_type: str) -> list[EvTripInfo]:
    """The electric cars still driving when the simulation ends, from their battery devices (a few calls per
    car, once): the trip output writes only the cars that arrived. Cars being teleported out of a jam are
    off the network at that moment but still on their way: they count too."""
    cars = []
    for vehicle in (*sim.vehicle.getIDList(), *sim.vehicle.getTeleportingIDList()):
        if sim.vehicle.getTypeID(vehicle) != electric_type:
            continue

        def param(key: str, vehicle: str = vehicle) -> float:
            return float(sim.vehicle.getParameter(vehicle, f"device.battery.{key}") or 0)

        cars.append(
            EvTripInfo(
                vehicle=vehicle, depart=float(sim.vehicle.getDeparture(vehicle)), arrival=None, arrival_lane="",
                arrival_pos=0.0, route_length_m=float(sim.vehicle.getDistance(vehicle)),
                final_wh=param("chargeLevel"), consumed_wh=param("totalEnergyConsumed"),
                regenerated_wh=param("totalEnergyRegenerated"),
            )
        )  # fmt: skip
    return cars
