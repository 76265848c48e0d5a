"""Demo history: hours of plausible readings for the demo sensors, written through the history path
(apps.telemetry.history: the live path's SQL, then the rollups), so that hourly views (the privacy module's
public aggregates, the district dashboards) have something to show before the live feed has run for days.

Meters follow their building's load profile (apps/energy/profiles.py) scaled by its floor area, loops the
time-of-day traffic demand, stations the demand plus the weather. A seeded random generator adds noise and
lets a share of the readings go missing (a meter that did not report in an hour), as real feeds do."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from apps.core.conf import local_time_zone
from apps.energy.profiles import LOAD_PROFILES, load_factor
from apps.telemetry.history import HistoricReading, write_history
from apps.telemetry.ingest import fold_rollups

from .profiles import demand_factor, weather
from .sensors import DEMO_SOURCE


def _demo_sensors(prefix: str) -> list[tuple[int, str, str, float]]:
    """(id, kind, profile, floor area m²) of the active demo sensors under this prefix."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT s.id, s.kind, coalesce(s.tags->>'profile', ''),
                      coalesce(ST_Area(b.geom::geography) * coalesce(b.levels, greatest(round(b.height_m / 3.0), 1)), 0)
               FROM sensors_sensor s LEFT JOIN buildings_building b ON b.id = s.building_id
               WHERE s.source = %s AND s.active AND s.code LIKE %s ORDER BY s.code""",
            [DEMO_SOURCE, f"{prefix}-%"],
        )
        return [(sid, kind, profile, float(area)) for sid, kind, profile, area in cursor.fetchall()]


def _values(
    kind: str, profile: str, area: float, local: datetime, index: int, interval_s: int, rng: random.Random
) -> dict[str, float]:
    if kind == "energy":
        peak_kw = area * LOAD_PROFILES.get(profile, LOAD_PROFILES["mixed"]).peak_w_m2 / 1000
        kw = max(peak_kw * load_factor(profile, local) * rng.uniform(0.85, 1.15), 0.01)
        return {"active_power_kw": round(kw, 3), "energy_kwh": round(kw * interval_s / 3600, 4)}
    demand = demand_factor(local)
    if kind == "traffic":
        count = max(int(rng.gauss(400 * demand * interval_s / 3600, 3)), 0)
        return (
            {"vehicle_count": count, "mean_speed_kmh": round(45 - 15 * demand + rng.uniform(-3, 3), 1)}
            if count
            else {"vehicle_count": 0}
        )
    temperature, humidity = weather(local, index)
    pm2_5 = 4 + 10 * demand + rng.uniform(0, 2)
    return {
        "no2": round(12 + 35 * demand + rng.uniform(0, 4), 1),
        "pm2_5": round(pm2_5, 1),
        "pm10": round(pm2_5 * 1.8, 1),
        "temperature_c": round(temperature, 1),
        "humidity_pct": round(humidity, 1),
    }


def backfill_demo_history(
    *, end: datetime, hours: int, prefix: str = "hel", interval_s: int = 900, missing: float = 0.02, seed: int = 1
) -> int:
    """Readings every interval_s for the `hours` hours before `end` (an aware time) for every active demo
    sensor under the prefix; each reading is left out with probability `missing`. Returns the number stored."""
    zone = ZoneInfo(local_time_zone())
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible by seed; nothing secret
    sensors = _demo_sensors(prefix)
    start = end - timedelta(hours=hours)
    readings: list[HistoricReading] = []
    moment = start
    while moment < end:
        local = moment.astimezone(zone)
        for index, (sid, kind, profile, area) in enumerate(sensors):
            if rng.random() >= missing:
                readings.append(
                    HistoricReading(sid, moment, _values(kind, profile, area, local, index, interval_s, rng))
                )
        moment += timedelta(seconds=interval_s)
    with transaction.atomic():
        stored = write_history(readings, received_at=timezone.now()).inserted
    fold_rollups(wait=True)
    return stored
