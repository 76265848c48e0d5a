"""Reads of telemetry, always through the role filter of sensors."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, QuerySet

from apps.sensors.models import Sensor
from apps.sensors.querysets import visible_kinds

from .catalog import all_properties, properties_of
from .models import RESOLUTION_SECONDS, Alert, QuarantinedReading, QuarantineReason

MAX_POINTS = 20_000


def _json(value: Any) -> Any:
    """jsonb from a raw cursor: Django's psycopg setup hands it over as text."""
    return json.loads(value) if isinstance(value, str) else value


def latest_items(
    *, user: Any, kinds: list[str], bbox: tuple[float, float, float, float] | None
) -> list[dict[str, Any]]:
    """The latest values of every visible sensor of these kinds in the box, one item per sensor (the
    shape the websocket streams)."""
    sensors = Sensor.objects.visible_to(user).filter(kind__in=kinds, active=True)
    if bbox is not None:
        from django.contrib.gis.geos import Polygon

        sensors = sensors.filter(geom__intersects=Polygon.from_bbox(bbox))
    ids = list(sensors.values_list("id", flat=True))
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT s.code, s.kind, ST_X(s.geom), ST_Y(s.geom), max(l.time),
                      jsonb_object_agg(l.property, l.value)
               FROM sensors_sensor s JOIN telemetry_latest l ON l.sensor_id = s.id
               WHERE s.id = ANY(%s) GROUP BY s.id""",
            [ids],
        )
        return [
            {"sensor": code, "kind": kind, "lon": lon, "lat": lat, "time": time.isoformat(), "values": _json(values)}
            for code, kind, lon, lat, time, values in cursor.fetchall()
        ]


def latest_of(sensor: Sensor) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT property, time, value, received_at FROM telemetry_latest WHERE sensor_id = %s ORDER BY property",
            [sensor.pk],
        )
        rows = cursor.fetchall()
    catalog = properties_of(sensor.kind)
    return {
        "sensor": sensor.code,
        "kind": sensor.kind,
        "values": {
            prop: {
                "value": value,
                "unit": catalog[prop].unit if prop in catalog else "",
                "time": time.isoformat(),
                "received_at": received.isoformat(),
            }
            for prop, time, value, received in rows
        },
    }


def series(sensor: Sensor, *, start: datetime, end: datetime, resolution: str) -> dict[str, Any]:
    """Readings of one sensor between start and end: raw, or aggregated per bucket with the property's own
    semantics (sum for counts and energy, mean otherwise), with min and max."""
    catalog = properties_of(sensor.kind)
    with connection.cursor() as cursor:
        if resolution == "raw":
            cursor.execute(
                "SELECT time, values FROM telemetry_reading WHERE sensor_id = %s AND time >= %s AND time < %s "
                "ORDER BY time LIMIT %s",
                [sensor.pk, start, end, MAX_POINTS + 1],
            )
            rows = cursor.fetchall()
            points = [{"time": t.isoformat(), "values": _json(v)} for t, v in rows[:MAX_POINTS]]
        else:
            cursor.execute(
                "SELECT bucket, property, n, total, minimum, maximum FROM telemetry_rollup "
                "WHERE resolution = %s AND sensor_id = %s AND bucket >= %s AND bucket < %s ORDER BY bucket, property",
                [resolution, sensor.pk, start, end],
            )
            rows = cursor.fetchall()
            by_bucket: dict[datetime, dict[str, Any]] = {}
            for bucket, prop, n, total, minimum, maximum in rows:
                point = by_bucket.setdefault(
                    bucket, {"time": bucket.isoformat(), "values": {}, "min": {}, "max": {}, "count": {}}
                )
                aggregate = catalog[prop].aggregate if prop in catalog else "mean"
                point["values"][prop] = total if aggregate == "sum" else total / n
                point["min"][prop], point["max"][prop], point["count"][prop] = minimum, maximum, n
            points = list(by_bucket.values())[:MAX_POINTS]
    return {
        "sensor": sensor.code,
        "kind": sensor.kind,
        "resolution": resolution,
        "bucket_seconds": RESOLUTION_SECONDS.get(resolution),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "units": {name: p.unit for name, p in catalog.items()},
        "aggregation": {name: p.aggregate for name, p in catalog.items()},
        "truncated": len(rows) > MAX_POINTS,
        "points": points,
    }


def alert_item(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "sensor": alert.sensor.code,
        "sensor_kind": alert.sensor.kind,
        "lon": alert.sensor.geom.x,
        "lat": alert.sensor.geom.y,
        "property": alert.property,
        "value": alert.value,
        "message": alert.message,
        "started_at": alert.started_at.isoformat(),
        "last_seen_at": alert.last_seen_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "acknowledged_by": alert.acknowledged_by.username if alert.acknowledged_by else None,
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
    }


def open_alert_items() -> list[dict[str, Any]]:
    alerts = Alert.objects.filter(resolved_at__isnull=True).select_related("sensor", "acknowledged_by")[:500]
    return [alert_item(a) for a in alerts]


def district_hourly(*, user: Any, properties: list[str], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Hourly rollups per district of the active sensors of the kinds the user may see (a sensor counts in
    every district that covers it): per district, hour and property the value with the property's own
    aggregation (sum of the sensors' sums for counts and energy, the reading-weighted mean otherwise) and
    how many sensors made it. Read from the per-district rollups (district_rollups.py): districts x hours
    rows, whatever the number of sensors."""
    if not properties:
        return []
    kinds = visible_kinds(user)
    sums = [p.name for p in all_properties() if p.aggregate == "sum"]
    sql = """
        SELECT t.district_id AS district, d.name, t.bucket, t.property,
               CASE WHEN t.property = ANY(%(sums)s) THEN sum(t.total) ELSE sum(t.total) / nullif(sum(t.n), 0) END
                   AS value,
               sum(t.sensors) AS sensors
        FROM telemetry_district_rollup t
        JOIN districts_district d ON d.id = t.district_id
        WHERE t.property = ANY(%(properties)s) AND t.bucket >= %(start)s AND t.bucket < %(end)s
          AND (%(all_kinds)s OR t.kind = ANY(%(kinds)s))
        GROUP BY t.district_id, d.name, t.bucket, t.property
        ORDER BY t.bucket, t.district_id, t.property
    """
    params: dict[str, Any] = {
        "sums": sums,
        "properties": properties,
        "start": start,
        "end": end,
        "all_kinds": kinds is None,
        "kinds": sorted(kinds or ()),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def quarantined(*, reason: str | None, sensor: str | None, source: str | None) -> QuerySet[QuarantinedReading]:
    """Refused readings, newest first; `sensor` matches part of the code the message named."""
    rows = QuarantinedReading.objects.order_by("-received_at", "-pk")
    if reason:
        rows = rows.filter(reason=reason)
    if sensor:
        rows = rows.filter(sensor_code__icontains=sensor)
    if source:
        rows = rows.filter(source=source)
    return rows


def quarantine_reason_counts() -> list[tuple[str, str, int]]:
    """(reason, its words, how many refused readings) for every reason, most frequent first."""
    counts = dict(QuarantinedReading.objects.values_list("reason").annotate(n=Count("pk")).values_list("reason", "n"))
    reasons = [(value, str(label), counts.get(value, 0)) for value, label in QuarantineReason.choices]
    return sorted(reasons, key=lambda r: (-r[2], r[1]))
