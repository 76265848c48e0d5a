"""A small committed world for the SensorThings tests: sensors of every kind under the prefix `sta-` (an
energy meter in a building among them), two hours of readings every 15 minutes and their hourly rollups.
Committed, so that the live server (another process) reads it too; removed at the end of the module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.gis.geos import Point

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
STEPS = 8  # readings every 15 min: two hours
POINTS = {
    "sta-t1": ("traffic", Point(24.9400, 60.1680, srid=4326)),
    "sta-t2": ("traffic", Point(24.9700, 60.1850, srid=4326)),
    "sta-a1": ("air_quality", Point(24.9450, 60.1700, srid=4326)),
    "sta-e1": ("energy", Point(24.9452, 60.1701, srid=4326)),
}
# A box around sta-t1, sta-a1 and sta-e1, not sta-t2.
BOX = "POLYGON((24.935 60.165, 24.950 60.165, 24.950 60.172, 24.935 60.172, 24.935 60.165))"


def value_of(prop: str, step: int, sensor_index: int) -> float:
    """Distinct, property-typed values: every reading differs from the next."""
    return round(5 + 3 * step + 0.5 * sensor_index + (len(prop) % 7), 2)


@pytest.fixture(scope="module", name="world")
def world_fixture(django_db_setup, django_db_blocker) -> Iterator[dict[str, Any]]:  # noqa: ANN001
    from django.db import connection

    from apps.buildings.models import Building
    from apps.roads.models import RoadSegment
    from apps.sensors.models import Sensor
    from apps.telemetry.catalog import properties_of
    from apps.telemetry.models import Reading, Rollup

    with django_db_blocker.unblock():
        segment = RoadSegment.objects.order_by("id").first()
        building = Building.objects.order_by("id").first()
        sensors: dict[str, Sensor] = {}
        for index, (code, (kind, point)) in enumerate(POINTS.items()):
            sensors[code] = Sensor.objects.create(
                code=code, name=f"STA {kind} {index}", kind=kind, geom=point, source="test", source_id=code,
                road_segment=segment if kind == "traffic" else None, building=building if kind == "energy" else None,
            )  # fmt: skip
            readings, rollups = [], []
            props = properties_of(kind)
            for step in range(STEPS):
                values = {p: value_of(p, step, index) for p in props}
                readings.append(Reading(sensor=sensors[code], time=START + timedelta(minutes=15 * step),
                                        received_at=START + timedelta(minutes=15 * step, seconds=5), values=values))  # fmt: skip
            for hour in range(STEPS // 4):
                for prop in props:
                    got = [value_of(prop, step, index) for step in range(hour * 4, hour * 4 + 4)]
                    rollups.append(Rollup(resolution="1h", sensor=sensors[code], property=prop,
                                          bucket=START + timedelta(hours=hour), n=len(got), total=sum(got),
                                          minimum=min(got), maximum=max(got)))  # fmt: skip
            Reading.objects.bulk_create(readings)
            Rollup.objects.bulk_create(rollups)
    yield {"sensors": sensors, "ids": {code: s.pk for code, s in sensors.items()}}
    with django_db_blocker.unblock():
        ids = [s.pk for s in sensors.values()]
        with connection.cursor() as cursor:
            for table in ("telemetry_reading", "telemetry_rollup"):
                cursor.execute(f"DELETE FROM {table} WHERE sensor_id = ANY(%s)", [ids])  # noqa: S608 - constant names
        Sensor.objects.filter(id__in=ids).delete()
