"""The electrical load of the buildings per substation over a day (selectors).

Per building: floor area (footprint x levels; levels from height / 3 m when missing) x its profile's peak
W/m² x the profile's load factor at the local time (profiles.py; weekday or weekend from the day). The mean
of an interval is the mean of the factor sampled every SAMPLE_S seconds across it (the profiles are linear
between full hours, so this is exact to a few tenths of a percent). Intervals are wall-clock seconds from the
local midnight of `day`.

Meter scaling: where a building has energy meters (Sensor kind "energy" on it) with stored active power,
its profile is scaled by measured / modelled over the hourly rollups of the last SCALE_WINDOW_DAYS days up
to the meters' newest reading (modelled at the middle of each hour, with that hour's local weekday/weekend
shape; the meters of one building add up), clamped to SCALE_MIN..SCALE_MAX: a meter on one tenant of a big
building, or a broken one, must not blank or multiply the whole building."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import numpy as np
from django.db import connection

from apps.sensors.models import SensorKind
from apps.telemetry.models import Resolution

from .grid import FLOOR_AREA_SQL, GridModel, building_attachment
from .profiles import LOAD_PROFILES, load_factor, profile_of

SAMPLE_S = 300
SCALE_WINDOW_DAYS = 28
SCALE_MIN, SCALE_MAX = 0.2, 5.0
METER_PROPERTY = "active_power_kw"


def _buildings() -> list[tuple[int, str, float]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT b.id, b.use, {FLOOR_AREA_SQL} FROM buildings_building b ORDER BY b.id")
        return [(int(i), use or "", float(area)) for i, use, area in cursor.fetchall()]


def meter_scales(tz: ZoneInfo) -> dict[int, float]:
    """Building id -> measured / modelled load, for buildings with metered active power (clamped)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH m AS (
                SELECT s.id AS sensor_id, s.building_id FROM sensors_sensor s
                WHERE s.kind = %(kind)s AND s.building_id IS NOT NULL
            ),
            newest AS (
                SELECT m.building_id, max(r.bucket) AS last FROM m
                JOIN telemetry_rollup r ON r.sensor_id = m.sensor_id AND r.resolution = %(res)s AND r.property = %(prop)s
                GROUP BY m.building_id
            )
            SELECT g.building_id, b.use, {FLOOR_AREA_SQL}, g.bucket, g.kw
            FROM (
                SELECT m.building_id, r.bucket, sum(r.total / r.n) AS kw
                FROM m JOIN newest USING (building_id)
                JOIN telemetry_rollup r ON r.sensor_id = m.sensor_id AND r.resolution = %(res)s
                    AND r.property = %(prop)s AND r.bucket > newest.last - make_interval(days => %(days)s)
                WHERE r.n > 0
                GROUP BY m.building_id, r.bucket
            ) g JOIN buildings_building b ON b.id = g.building_id
            ORDER BY g.building_id, g.bucket
            """,
            {"kind": SensorKind.ENERGY, "res": Resolution.HOUR, "prop": METER_PROPERTY, "days": SCALE_WINDOW_DAYS},
        )
        rows = cursor.fetchall()
    measured: dict[int, float] = {}
    modelled: dict[int, float] = {}
    for building_id, use, area, bucket, kw in rows:
        profile = profile_of(use or "")
        local = (bucket + dt.timedelta(minutes=30)).astimezone(tz)
        model_kw = float(area) * LOAD_PROFILES[profile].peak_w_m2 / 1000.0 * load_factor(profile, local)
        measured[building_id] = measured.get(building_id, 0.0) + float(kw)
        modelled[building_id] = modelled.get(building_id, 0.0) + model_kw
    return {b: min(max(measured[b] / modelled[b], SCALE_MIN), SCALE_MAX) for b in measured if modelled.get(b, 0.0) > 0}


def _factors(profile: str, day: dt.date, tz: ZoneInfo, intervals: Sequence[tuple[int, int]]) -> np.ndarray:
    midnight = dt.datetime.combine(day, dt.time(0))
    out = np.empty(len(intervals))
    for i, (begin, end) in enumerate(intervals):
        steps = max(1, round((end - begin) / SAMPLE_S))
        width = (end - begin) / steps
        samples = [
            load_factor(profile, (midnight + dt.timedelta(seconds=begin + (j + 0.5) * width)).replace(tzinfo=tz))
            for j in range(steps)
        ]
        out[i] = sum(samples) / steps
    return out


def building_load_detail(
    *, day: dt.date, time_zone: str, intervals: Sequence[tuple[int, int]]
) -> dict[int, np.ndarray]:
    """Building id -> its mean kW per interval (profile x floor area, scaled to its meters)."""
    tz = ZoneInfo(time_zone)
    scales = meter_scales(tz)
    factors: dict[str, np.ndarray] = {}
    loads: dict[int, np.ndarray] = {}
    for building_id, use, area in _buildings():
        profile = profile_of(use)
        if profile not in factors:
            factors[profile] = _factors(profile, day, tz, intervals)
        peak_kw = area * LOAD_PROFILES[profile].peak_w_m2 / 1000.0
        loads[building_id] = peak_kw * scales.get(building_id, 1.0) * factors[profile]
    return loads


def building_loads(
    grid: GridModel, *, day: dt.date, time_zone: str, intervals: Sequence[tuple[int, int]]
) -> dict[str, np.ndarray]:
    """Substation key -> the mean kW of the buildings it serves, per interval ([begin, end) seconds of the
    local day)."""
    out = {s.key: np.zeros(len(intervals)) for s in grid.substations}
    attachment = building_attachment(grid)
    for building_id, kw in building_load_detail(day=day, time_zone=time_zone, intervals=intervals).items():
        key = attachment.get(building_id)
        if key is not None:
            out[key] += kw
    return out
