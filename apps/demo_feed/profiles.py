"""Time-of-day shapes of the demo city, pure functions of local time: how much of the peak-hour traffic
demand runs and the weather (temperature, humidity) of a coastal city at ~60° N. The electric load of a
building by its use lives in apps/energy/profiles.py. The feed (feed.py, measurements.py) turns them into
readings."""

from __future__ import annotations

import math
from datetime import datetime

from apps.energy.profiles import hourly

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


def demand_factor(local: datetime) -> float:
    """The share of the peak-hour traffic demand at this local time."""
    return hourly(WEEKEND_DEMAND if local.weekday() >= 5 else WEEKDAY_DEMAND, local)


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
