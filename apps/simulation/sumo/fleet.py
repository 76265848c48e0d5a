"""The car fleet of an energy scenario: which vehicles burn petrol or diesel and which are electric, the
SUMO vehicle types that say so (HBEFA 4 emission classes; electric cars with SUMO's battery device), each
electric car's state of charge at departure, and its charging stop when it departs low.

A vehicle's fuel and its initial charge come from a hash of its id and the demand seed, not from SUMO's
random stream: the same demand with ev_share 0 and 0.3 turns exactly the cars whose draw is under 0.3
electric and leaves every other car as it was, so two scenarios differ by their fleet only (a paired
comparison, far less noisy than two independent draws). docs/energy.md describes the model."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

# Vehicle types written into the scenario's additional file. "fleet" is a vTypeDistribution for flows
# (whose vehicles cannot be drawn one by one here).
PETROL, DIESEL, ELECTRIC = "fleet_petrol", "fleet_diesel", "fleet_electric"
DISTRIBUTION = "fleet"

DEFAULT_CLASSES = {"petrol": "HBEFA4/PC_petrol_Euro-6ab", "diesel": "HBEFA4/PC_diesel_Euro-6ab"}

# The electric car: SUMO's own defaults of its energy model (a Kia Soul EV, SUMO's Models/Electric page),
# with a larger battery, typical of the cars sold since 2020. Wh, W, kg, m².
BATTERY_PARAMS: dict[str, str] = {
    "has.battery.device": "true",
    "device.battery.capacity": "64000",
    "device.battery.maximumChargeRate": "100000",
    "frontSurfaceArea": "2.6",
    "airDragCoefficient": "0.35",
    "rotatingMass": "40",
    "radialDragCoefficient": "0.1",
    "rollDragCoefficient": "0.01",
    "constantPowerIntake": "100",
    "propulsionEfficiency": "0.98",
    "recuperationEfficiency": "0.96",
    "stoppingThreshold": "0.1",
}
EV_MASS_KG = 1830
BATTERY_WH = float(BATTERY_PARAMS["device.battery.capacity"])
SOC_MIN, SOC_MAX = 0.10, 0.90  # initial state of charge: uniform over this range (an assumption)


@dataclass(frozen=True)
class FleetMix:
    """Shares of the car fleet (they sum to 1) and the HBEFA class of each combustion fuel."""

    petrol: float
    diesel: float
    electric: float
    classes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_CLASSES))

    @classmethod
    def of(cls, fleet: Mapping[str, object], ev_share: float | None = None) -> FleetMix:
        """From a scenario document's `fleet`; ev_share (an ev_share edit) replaces the electric share and
        scales petrol and diesel to fill the rest in their own proportion."""
        petrol, diesel, electric = (float(fleet[k]) for k in ("petrol", "diesel", "electric"))  # type: ignore[arg-type]
        classes = {**DEFAULT_CLASSES, **dict(fleet.get("classes") or {})}  # type: ignore[call-overload]
        if ev_share is not None:
            combustion = petrol + diesel
            rest = 1.0 - ev_share
            petrol, diesel = (rest * petrol / combustion, rest * diesel / combustion) if combustion > 0 else (rest, 0.0)
            electric = ev_share
        return cls(petrol, diesel, electric, classes)


@dataclass(frozen=True)
class ChargingStop:
    """Where an electric car that departs low stops to charge: a charging station's id and its edge."""

    station: str
    edge: str
    power_w: float


def unit_draw(vehicle: str, salt: str) -> float:
    """A number in [0, 1) fixed by the vehicle id and the salt (reproducible, independent per salt)."""
    digest = hashlib.blake2b(f"{salt}:{vehicle}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def vehicle_type(mix: FleetMix, vehicle: str, seed: int) -> str:
    """The fleet type of a car. Electric when its draw is under the electric share, so raising the share
    turns more cars electric and changes no other car's fuel."""
    u = unit_draw(vehicle, f"fuel-{seed}")
    if u < mix.electric:
        return ELECTRIC
    combustion = mix.petrol + mix.diesel
    if combustion <= 0:
        return ELECTRIC
    v = unit_draw(vehicle, f"combustion-{seed}")  # petrol or diesel: a draw of its own, unchanged by u
    return PETROL if v < mix.petrol / combustion else DIESEL


def initial_charge(vehicle: str, seed: int) -> float:
    """State of charge (0..1) at departure."""
    return SOC_MIN + (SOC_MAX - SOC_MIN) * unit_draw(vehicle, f"soc-{seed}")


def fleet_types_xml(mix: FleetMix) -> str:
    """The vType elements of the fleet and the distribution flows draw from."""
    battery = "".join(f'\n        <param key="{k}" value="{v}"/>' for k, v in BATTERY_PARAMS.items())
    return (
        f'    <vType id="{PETROL}" vClass="passenger" emissionClass={quoteattr(mix.classes["petrol"])}/>\n'
        f'    <vType id="{DIESEL}" vClass="passenger" emissionClass={quoteattr(mix.classes["diesel"])}/>\n'
        f'    <vType id="{ELECTRIC}" vClass="passenger" emissionClass="Energy/unknown" mass="{EV_MASS_KG}">'
        f"{battery}\n    </vType>\n"
        f'    <vTypeDistribution id="{DISTRIBUTION}" vTypes="{PETROL} {DIESEL} {ELECTRIC}"'
        f' probabilities="{mix.petrol:.6f} {mix.diesel:.6f} {mix.electric:.6f}"/>\n'
    )


def _is_car(element: ET.Element, car_types: set[str]) -> bool:
    """A vehicle the fleet applies to: no type of its own, SUMO's default car type, or a type of the demand
    whose class is passenger car. Buses, trucks and the demand's other types keep theirs."""
    return element.get("type") in (None, "", "DEFAULT_VEHTYPE") or element.get("type") in car_types


@dataclass
class FleetTally:
    petrol: int = 0
    diesel: int = 0
    electric: int = 0
    other: int = 0
    charging_stops: int = 0
    flows: int = 0


def vehicle_hook(
    mix: FleetMix,
    *,
    seed: int,
    threshold: float,
    target: float,
    max_stop_s: float,
    stop_for: Callable[[list[str]], ChargingStop | None],
    tally: FleetTally,
) -> Callable[[ET.Element, list[str]], ET.Element]:
    """A transform_routes hook giving each car its fleet type; an electric car its initial charge, and a
    charging stop when it departs under `threshold` and stop_for(route edges) finds a station on or near
    its route. The stop lasts until the battery would reach `target` at the station's power, at most
    max_stop_s; the car parks off the lane while it charges."""

    car_types: set[str] = set()

    def hook(element: ET.Element, edges: list[str]) -> ET.Element:
        if element.tag == "vType":
            if element.get("vClass", "passenger") == "passenger":
                car_types.add(element.get("id", ""))
            return element
        if element.tag == "flow":
            if _is_car(element, car_types):
                element.set("type", DISTRIBUTION)
                tally.flows += 1
            return element
        if not _is_car(element, car_types):
            tally.other += 1
            return element
        name = element.get("id", "")
        kind = vehicle_type(mix, name, seed)
        element.set("type", kind)
        if kind != ELECTRIC:
            if kind == PETROL:
                tally.petrol += 1
            else:
                tally.diesel += 1
            return element
        tally.electric += 1
        soc = initial_charge(name, seed)
        ET.SubElement(element, "param", {"key": "device.battery.chargeLevel", "value": f"{soc * BATTERY_WH:.1f}"})
        if soc < threshold:
            stop = stop_for(edges)
            if stop is not None:
                element = _with_stop(element, edges, stop, (target - soc) * BATTERY_WH, max_stop_s)
                tally.charging_stops += 1
        return element

    return hook


def _with_stop(
    element: ET.Element, edges: list[str], stop: ChargingStop, need_wh: float, max_stop_s: float
) -> ET.Element:
    """The car with a charging stop. Off its route: it becomes a trip via the station's edge (SUMO routes
    it at insertion). Stops are children after params (SUMO's order)."""
    if stop.edge not in edges:
        attributes = {k: v for k, v in element.attrib.items() if k != "route"}
        trip = ET.Element("trip", {**attributes, "from": edges[0], "to": edges[-1], "via": stop.edge})
        trip.extend(child for child in element if child.tag != "route")
        element = trip
    duration = min(max(need_wh / stop.power_w * 3600.0, 60.0), max_stop_s)
    ET.SubElement(element, "stop", {"chargingStation": stop.station, "duration": f"{duration:.0f}", "parking": "true"})
    return element


def write_fleet_additional(path: Path, mix: FleetMix, stations_xml: str) -> Path:
    """The energy additional file: the fleet's types and the charging stations."""
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<additional>\n'
        + fleet_types_xml(mix)
        + stations_xml
        + "</additional>\n",
        encoding="utf-8",
    )
    return path
