"""What each kind of sensor measures: properties, units, physical ranges, plausible rates of change and
how readings aggregate over time (counts and energy add up; speeds, concentrations and power average).
This is the contract of docs/ingest.md; the quality gate and the rollups read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from apps.sensors.models import SensorKind


@dataclass(frozen=True)
class Property:
    name: str
    label: str
    unit: str
    minimum: float
    maximum: float
    aggregate: Literal["sum", "mean"]
    # Largest plausible change per minute between consecutive readings; None: no rate check.
    max_rate_per_min: float | None = None


CATALOG: dict[str, dict[str, Property]] = {
    SensorKind.TRAFFIC: {
        p.name: p
        for p in (
            Property("vehicle_count", "Vehicles", "veh/interval", 0, 10_000, "sum"),
            Property("mean_speed_kmh", "Mean speed", "km/h", 0, 250, "mean"),
            Property("occupancy_pct", "Occupancy", "%", 0, 100, "mean"),
        )
    },
    SensorKind.AIR_QUALITY: {
        p.name: p
        for p in (
            Property("pm2_5", "PM2.5", "µg/m³", 0, 1_000, "mean", max_rate_per_min=300),
            Property("pm10", "PM10", "µg/m³", 0, 2_000, "mean", max_rate_per_min=600),
            Property("no2", "NO₂", "µg/m³", 0, 2_000, "mean", max_rate_per_min=600),
            Property("o3", "O₃", "µg/m³", 0, 1_000, "mean", max_rate_per_min=300),
            Property("temperature_c", "Temperature", "°C", -60, 60, "mean", max_rate_per_min=5),
            Property("humidity_pct", "Relative humidity", "%", 0, 100, "mean", max_rate_per_min=30),
        )
    },
    SensorKind.ENERGY: {
        p.name: p
        for p in (
            Property("active_power_kw", "Active power", "kW", -10_000, 100_000, "mean"),
            Property("energy_kwh", "Energy", "kWh/interval", 0, 1_000_000, "sum"),
        )
    },
}

# The property a live map colours a sensor by.
HEADLINE = {SensorKind.TRAFFIC: "mean_speed_kmh", SensorKind.AIR_QUALITY: "pm2_5", SensorKind.ENERGY: "active_power_kw"}


def properties_of(kind: str) -> dict[str, Property]:
    return CATALOG.get(kind, {})


def all_properties() -> list[Property]:
    return [p for props in CATALOG.values() for p in props.values()]
