"""Observed vehicle counts for a scenario's window: the stored readings (imported loop counts and live loops
alike, property vehicle_count) of the traffic sensors placed on the network's segments, summed per segment
and hour in PostGIS. They fit the demand of a `counts` scenario and calibrate every run whose window has
them.

Per segment and hour: the loops of one station are summed (one loop per lane; SUMO's edge flow counts
every lane), and several stations on the same segment, which count the same vehicles at different places,
are averaged. A sensor without a station tag is a station of its own."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection

from apps.roads.networks import segments_of

PROPERTY = "vehicle_count"
# The sensor tag naming a detector's station (the loops of one station count its lanes), as count files
# carry it: a generic "station", Bologna's "ID_univoco_stazione_spira".
STATION_TAGS = ("station", "ID_univoco_stazione_spira")
STATION_SQL = "coalesce(" + ", ".join(f"s.tags ->> '{tag}'" for tag in STATION_TAGS) + ")"


@dataclass(frozen=True)
class ObservedCount:
    segment_id: int
    hour_begin: int  # seconds of the day
    count: float
    sensor_ids: tuple[int, ...]


def window_bounds(doc: dict[str, Any], day: date) -> tuple[datetime, datetime]:
    """The window of a document on a day, as aware datetimes in its time zone."""
    zone = zoneinfo.ZoneInfo(doc["time_zone"])
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    return midnight + timedelta(seconds=doc["begin"]), midnight + timedelta(seconds=doc["end"])


def counts_date(doc: dict[str, Any]) -> date | None:
    """The day whose counts apply: the counts demand's date (a random demand has no day)."""
    demand = doc["demand"]
    return date.fromisoformat(demand["date"]) if demand.get("source") == "counts" else None


def observed_counts(doc: dict[str, Any], day: date | None = None) -> list[ObservedCount]:
    """Per segment and whole hour of the window: its stations' mean of their loops' sums. Hours only
    partly in the window are left out (a count cannot be split)."""
    day = day or counts_date(doc)
    if day is None:
        return []
    start, end = window_bounds(doc, day)
    segment_sql, segment_params = segments_of(doc["network"]).values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH per_station AS (
                SELECT s.road_segment_id AS segment,
                       coalesce({STATION_SQL}, s.id::text) AS station,
                       floor(extract(epoch FROM r.time - %s) / 3600)::int AS hour,
                       sum((r.values ->> %s)::float8) AS total,
                       array_agg(DISTINCT s.id) AS sensors
                FROM telemetry_reading r JOIN sensors_sensor s ON s.id = r.sensor_id
                WHERE s.kind = 'traffic' AND s.road_segment_id IN ({segment_sql})
                  AND r.time >= %s AND r.time < %s AND r.values ? %s
                GROUP BY 1, 2, 3
            )
            SELECT segment, hour, avg(total), string_agg(array_to_string(sensors, ','), ',')
            FROM per_station GROUP BY 1, 2 ORDER BY 1, 2
            """,
            [start, PROPERTY, *segment_params, start, end - timedelta(hours=1) + timedelta(microseconds=1), PROPERTY],
        )
        rows = cursor.fetchall()
    return [
        ObservedCount(
            int(segment),
            doc["begin"] + 3600 * int(hour),
            float(total),
            tuple(sorted({int(i) for i in sensors.split(",")})),
        )
        for segment, hour, total, sensors in rows
    ]
