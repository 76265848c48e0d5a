"""Time-of-day shapes of the demo city, pure functions of local time: how much of the peak-hour traffic
demand runs, the electric load of a building by its use, and the weather (temperature, humidity) of a
coastal city at ~60° N. The feed (feed.py, measurements.py) turns them into readings."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

# Share of the peak-hour demand per local hour (0..23), shaped like urban weekday/weekend counts: two rush
# hours on weekdays, a broad midday on weekends, little at night.
# fmt: off
WEEKDAY_DEMAND = (
    0.12, 0.08, 0.06, 0.06, 0.10, 0.25, 0.55, 0.90, 1.00, 0.80, 0.70, 0.72,
    0.75, 0.75, 0.80, 0.92, 1.00, 0.95, 0.75, 0.60, 0.50, 0.40, 0.30, 0.20,
)
WEEKEND_DEMAND = (
    0.20, 0.15, 0.10, 0.08, 0.08, 0.10, 0.18, 0.30, 0.45, 0.60, 0.70, 0.75,
    0.78, 0.78, 0.75, 0.72, 0.70, 0.65, 0.60, 0.50, 0.42, 0.35, 0.30, 0.25,
)
# fmt: on


@dataclass(frozen=True)
class LoadProfile:
    """Electric load of a building use: peak W per m² of floor area and the share of the peak per local hour."""

    peak_w_m2: float
    weekday: tuple[float, ...]
    weekend: tuple[float, ...]


# fmt: off
_OFFICE_WEEKDAY = (
    0.25, 0.25, 0.25, 0.25, 0.25, 0.30, 0.45, 0.75, 0.95, 1.00, 1.00, 1.00,
    0.95, 1.00, 1.00, 0.95, 0.85, 0.65, 0.45, 0.35, 0.30, 0.28, 0.26, 0.25,
)
# Households: a morning bump, the evening peak (cooking, sauna, lights), a night base.
_HOME_WEEKDAY = (
    0.35, 0.30, 0.28, 0.28, 0.30, 0.40, 0.60, 0.75, 0.65, 0.50, 0.45, 0.45,
    0.48, 0.45, 0.45, 0.50, 0.65, 0.85, 1.00, 1.00, 0.95, 0.80, 0.60, 0.45,
)
_HOME_WEEKEND = (
    0.38, 0.32, 0.30, 0.28, 0.28, 0.30, 0.38, 0.50, 0.65, 0.75, 0.75, 0.72,
    0.70, 0.65, 0.62, 0.65, 0.75, 0.90, 1.00, 1.00, 0.95, 0.82, 0.62, 0.48,
)
_HOTEL_WEEKDAY = (
    0.55, 0.50, 0.50, 0.50, 0.50, 0.55, 0.75, 0.95, 0.90, 0.70, 0.65, 0.65,
    0.70, 0.65, 0.65, 0.70, 0.75, 0.85, 0.95, 1.00, 0.95, 0.85, 0.70, 0.60,
)
_HOTEL_WEEKEND = (
    0.55, 0.50, 0.50, 0.50, 0.50, 0.55, 0.65, 0.85, 0.95, 0.85, 0.70, 0.65,
    0.70, 0.65, 0.65, 0.70, 0.75, 0.85, 0.95, 1.00, 0.95, 0.85, 0.70, 0.60,
)
# fmt: on


def _by_hour(rule: Callable[[int], float]) -> tuple[float, ...]:
    return tuple(rule(h) for h in range(24))


LOAD_PROFILES: dict[str, LoadProfile] = {
    "residential": LoadProfile(6.0, _HOME_WEEKDAY, _HOME_WEEKEND),
    "office": LoadProfile(15.0, _OFFICE_WEEKDAY, _by_hour(lambda h: 0.25)),
    "public": LoadProfile(12.0, _OFFICE_WEEKDAY, _by_hour(lambda h: 0.35 if 10 <= h < 16 else 0.25)),
    "retail": LoadProfile(
        25.0,
        _by_hour(lambda h: 0.30 if h < 7 or h >= 22 else 0.55 if h in (7, 8, 21) else 1.0),
        _by_hour(lambda h: 0.30 if h < 9 or h >= 21 else 0.55 if h in (9, 20) else 0.9),
    ),
    "school": LoadProfile(
        10.0, _by_hour(lambda h: 1.0 if 8 <= h < 15 else 0.5 if h in (7, 15, 16) else 0.2), _by_hour(lambda h: 0.2)
    ),
    "hotel": LoadProfile(12.0, _HOTEL_WEEKDAY, _HOTEL_WEEKEND),
    "mixed": LoadProfile(10.0, _OFFICE_WEEKDAY, _by_hour(lambda h: 0.35 + 0.15 * math.sin(math.pi * h / 24))),
}


def _hourly(values: tuple[float, ...], local: datetime) -> float:
    """Linear interpolation between hourly values, so loads and demand never jump at the full hour."""
    hour = local.hour + local.minute / 60 + local.second / 3600
    lower = int(hour) % 24
    frac = hour - int(hour)
    return values[lower] * (1 - frac) + values[(lower + 1) % 24] * frac


def demand_factor(local: datetime) -> float:
    """The share of the peak-hour traffic demand at this local time."""
    return _hourly(WEEKEND_DEMAND if local.weekday() >= 5 else WEEKDAY_DEMAND, local)


def load_factor(profile: str, local: datetime) -> float:
    """The share of the profile's peak load at this local time (an unknown profile counts as mixed)."""
    p = LOAD_PROFILES.get(profile, LOAD_PROFILES["mixed"])
    return _hourly(p.weekend if local.weekday() >= 5 else p.weekday, local)


def weather(local: datetime, station_index: int) -> tuple[float, float]:
    """(temperature °C, relative humidity %) for a coastal city at ~60° N: seasonal mean -5 °C (late January)
    to 18 °C (late July), warmest at 15:00, humidity highest before dawn. Stations differ by a few tenths
    of a degree (street canyons, parks). Changes are hundredths of a degree per minute: far inside the
    quality gate's 5 °C/min."""
    day = local.timetuple().tm_yday
    season = -math.cos(2 * math.pi * (day - 22) / 365.25)  # -1 late January, +1 late July
    mean = 6.5 + 11.5 * season
    amplitude = 2.5 + 1.5 * season
    hour = local.hour + local.minute / 60 + local.second / 3600
    daily = math.cos(2 * math.pi * (hour - 15) / 24)
    temperature = mean + amplitude * daily + 0.3 * ((station_index % 3) - 1)
    humidity = 78 - 5 * season - 12 * daily - 2 * (station_index % 2)
    return temperature, min(max(humidity, 15.0), 99.0)
