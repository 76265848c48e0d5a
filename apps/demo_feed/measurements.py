"""What each demo sensor measures, interval by interval: traffic loops from SUMO's induction loops, air
quality from the emissions SUMO computes (HBEFA 4) on the edges near a station, energy meters from their
building's load profile. Every random draw comes from the feed's one generator, in a fixed order, so the
same seed gives the same readings.

- Traffic: count summed over the lanes of the loop's direction, speed weighted by each lane's count,
  occupancy averaged over the lanes.
- Air quality: a background level plus the traffic emissions on the edges within 150 m of the station,
  weighted by 1/(distance + 20 m), smoothed like a real analyser, plus noise.
- Energy: a load profile by building use scaled by floor area, plus noise.
- Weather (temperature, humidity): a seasonal and daily cycle for the city's latitude (profiles.py).

Calls per edge and per detector only, never per vehicle."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np

from apps.energy.profiles import LOAD_PROFILES, load_factor

from .devices import AirStation, LoopSensor, Meter
from .profiles import weather

STEP_LENGTH_S = 1.0  # the feed steps SUMO by 1 s: the air-quality sums take one sample per step

# Emission (mg/s, weighted by 1/m) -> concentration (µg/m³): C = 1000 * E / (wind speed * mixing height).
# 1 m/s x 10 m (a street canyon's weak ventilation) puts the busiest demo station ~15 µg/m³ NO2 above the
# background at the peak hour, near the usual gap between Helsinki's traffic and background stations.
DISPERSION_M2_S = 10.0
NO2_SHARE_OF_NOX = 0.3  # primary NO2 plus fast conversion near the road
# Non-exhaust particles (brakes, tyres, road dust) per vehicle-metre; in Nordic cities they dominate PM10.
NON_EXHAUST_PM25_MG_PER_M = 0.005
NON_EXHAUST_PM10_MG_PER_M = 0.030
AQ_SMOOTHING_S = 180.0  # an analyser's averaging plus mixing in the street
BACKGROUND = {"no2": 12.0, "pm2_5": 5.0, "pm10": 10.0}  # µg/m³, urban background
MEASUREMENT_NOISE = {"no2": 1.0, "pm2_5": 0.4, "pm10": 0.8}  # standard deviation, µg/m³


def sample_emissions(libsumo: Any, stations: list[AirStation]) -> None:
    """Add this step's traffic near each station, weighted by 1/m: NOx and exhaust PM (SUMO's per-edge
    sums, mg/s) and the distance driven (for non-exhaust particles). Edges without vehicles cost one call."""
    cache: dict[str, tuple[float, float, float]] = {}
    for station in stations:
        for edge, weight in station.edges:
            values = cache.get(edge)
            if values is None:
                n = libsumo.edge.getLastStepVehicleNumber(edge)
                if n == 0:
                    values = (0.0, 0.0, 0.0)
                else:
                    values = (
                        libsumo.edge.getNOxEmission(edge),
                        libsumo.edge.getPMxEmission(edge),
                        n * libsumo.edge.getLastStepMeanSpeed(edge) * STEP_LENGTH_S,  # vehicle-metres this step
                    )
                cache[edge] = values
            station.nox_acc += weight * values[0]
            station.pm_acc += weight * values[1]
            station.travel_acc += weight * values[2]


def traffic_values(libsumo: Any, loop: LoopSensor) -> dict[str, float]:
    """One loop station over all lanes of its direction: vehicles counted, mean speed weighted by
    the vehicles of each lane, occupancy averaged over the lanes (each lane's share of time occupied)."""
    count = 0
    speed_sum = 0.0
    occupancy = 0.0
    for detector in loop.detectors:
        n = libsumo.inductionloop.getLastIntervalVehicleNumber(detector)
        count += n
        if n > 0:
            speed_sum += n * libsumo.inductionloop.getLastIntervalMeanSpeed(detector)
        occupancy += libsumo.inductionloop.getLastIntervalOccupancy(detector)
    values: dict[str, float] = {
        "vehicle_count": count,
        "occupancy_pct": round(min(max(occupancy / len(loop.detectors), 0.0), 100.0), 1),
    }
    if count:  # no vehicle, no speed: a real loop reports nothing rather than 0 km/h
        values["mean_speed_kmh"] = round(max(speed_sum / count * 3.6, 0.0), 1)
    return values


def air_quality(
    stations: list[AirStation],
    *,
    interval: int,
    local: datetime,
    rng: np.random.Generator,
    publish: Callable[[AirStation, dict[str, float]], None] | None,
) -> None:
    """Turn the interval's summed emissions into concentrations; publish unless warming up (publish None).
    local: the local time of the reading (for the weather)."""
    keep = math.exp(-interval / AQ_SMOOTHING_S)
    for station in stations:
        # One sample per step of STEP_LENGTH_S (1 s): the sum over the interval / its seconds is the
        # interval's mean rate (mg/s, vehicle-metres/s), weighted by 1/m.
        samples = interval / STEP_LENGTH_S
        nox = station.nox_acc / samples
        pm_exhaust = station.pm_acc / samples
        travel = station.travel_acc / samples / STEP_LENGTH_S
        station.nox_acc = station.pm_acc = station.travel_acc = 0.0
        to_ugm3 = 1000.0 / DISPERSION_M2_S
        targets = {
            "nox": nox * to_ugm3,
            "pm2_5": (pm_exhaust + travel * NON_EXHAUST_PM25_MG_PER_M) * to_ugm3,
            "pm10": (pm_exhaust + travel * NON_EXHAUST_PM10_MG_PER_M) * to_ugm3,
        }
        for name, target in targets.items():
            station.smoothed[name] = keep * station.smoothed[name] + (1 - keep) * target
        # the regional background wanders slowly (AR(1), ~1 h memory, ±15 %)
        station.drift = station.drift * math.exp(-interval / 3600) + float(rng.normal(0, 0.15)) * math.sqrt(
            1 - math.exp(-2 * interval / 3600)
        )
        background = math.exp(station.drift)
        no2 = BACKGROUND["no2"] * background + NO2_SHARE_OF_NOX * station.smoothed["nox"]
        pm25 = BACKGROUND["pm2_5"] * background + station.smoothed["pm2_5"]
        pm10 = max(BACKGROUND["pm10"] * background + station.smoothed["pm10"], pm25)
        if publish is None:
            continue
        temperature, humidity = weather(local, station.index)
        station.seq += 1
        values = {
            "no2": _noisy(rng, no2, MEASUREMENT_NOISE["no2"]),
            "pm2_5": _noisy(rng, pm25, MEASUREMENT_NOISE["pm2_5"]),
            "pm10": _noisy(rng, pm10, MEASUREMENT_NOISE["pm10"]),
            "temperature_c": round(temperature + float(rng.normal(0, 0.05)), 2),
            "humidity_pct": round(min(max(humidity + float(rng.normal(0, 0.3)), 0.0), 100.0), 1),
        }
        values["pm10"] = max(values["pm10"], values["pm2_5"])  # PM10 includes PM2.5
        publish(station, values)


def _noisy(rng: np.random.Generator, value: float, sd: float) -> float:
    return round(max(value + float(rng.normal(0, sd)), 0.0), 1)


def energy_values(meter: Meter, local: datetime, interval: int, rng: np.random.Generator) -> dict[str, float]:
    """Power from the load profile (AR(1) noise: appliances switch, loads persist), energy over the
    interval by the trapezoid rule."""
    meter.noise = 0.9 * meter.noise + float(rng.normal(0, 0.02))
    peak_kw = meter.floor_area_m2 * LOAD_PROFILES.get(meter.profile, LOAD_PROFILES["mixed"]).peak_w_m2 / 1000
    kw = max(peak_kw * meter.scale * load_factor(meter.profile, local) * (1 + meter.noise), 0.0)
    previous = kw if meter.last_kw is None else meter.last_kw
    meter.last_kw = kw
    return {"active_power_kw": round(kw, 2), "energy_kwh": round((previous + kw) / 2 * interval / 3600, 4)}
