"""The per-district hourly rollups (apps/telemetry/district_rollups.py): readings ingested through the real
path, late readings, sensors moved, deactivated and deleted, districts re-shaped and deleted, the backfill
command; and district_hourly against the per-sensor SQL it replaced, per role."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.management import CommandError, call_command
from django.db import connection

from apps.districts.models import District
from apps.sensors.models import Sensor
from apps.telemetry.district_rollups import drift
from apps.telemetry.ingest import IncomingReading
from apps.telemetry.models import DistrictRollup
from apps.telemetry.selectors import district_hourly
from apps.telemetry.services import ingest_readings

pytestmark = pytest.mark.django_db
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
PROPS = ["vehicle_count", "mean_speed_kmh", "pm2_5", "no2", "energy_kwh", "active_power_kw"]
WINDOW = (NOW - timedelta(days=2), NOW + timedelta(hours=2))

# district_hourly as it was before the per-district table: the spatial join over the per-sensor rollups.
PER_SENSOR_SQL = """
    SELECT d.id AS district, d.name, r.bucket, r.property,
           CASE WHEN r.property = ANY(%(sums)s) THEN sum(r.total) ELSE sum(r.total) / nullif(sum(r.n), 0) END
               AS value,
           count(DISTINCT r.sensor_id) AS sensors
    FROM telemetry_rollup r
    JOIN sensors_sensor s ON s.id = r.sensor_id
    JOIN districts_district d ON ST_Covers(d.geom, s.geom)
    WHERE r.resolution = '1h' AND r.sensor_id = ANY(%(ids)s) AND r.property = ANY(%(properties)s)
      AND r.bucket >= %(start)s AND r.bucket < %(end)s
    GROUP BY d.id, d.name, r.bucket, r.property
    ORDER BY r.bucket, d.id, r.property
"""


def per_sensor(user: Any) -> list[dict[str, Any]]:
    from apps.telemetry.catalog import all_properties

    ids = list(Sensor.objects.visible_to(user).filter(active=True).values_list("id", flat=True))
    params = {
        "sums": [p.name for p in all_properties() if p.aggregate == "sum"],
        "ids": ids,
        "properties": PROPS,
        "start": WINDOW[0],
        "end": WINDOW[1],
    }
    with connection.cursor() as cursor:
        cursor.execute(PER_SENSOR_SQL, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def square(x0: float, y0: float, x1: float, y1: float) -> MultiPolygon:
    return MultiPolygon(Polygon.from_bbox((x0, y0, x1, y1)), srid=4326)


@pytest.fixture
def city(db) -> dict[str, Any]:  # noqa: ANN001
    """Two districts sharing an edge (away from the demo city), sensors of three kinds: inside one, on the
    shared edge (in both), and outside every district."""
    west = District.objects.create(geom=square(10.0, 50.0, 10.01, 50.01), name="West", source="t", source_id="w")
    east = District.objects.create(geom=square(10.01, 50.0, 10.02, 50.01), name="East", source="t", source_id="e")
    spots = {
        "dr-t1": ("traffic", 10.003, 50.005),
        "dr-t2": ("traffic", 10.006, 50.002),
        "dr-edge": ("traffic", 10.01, 50.005),  # on the shared edge: counts in both
        "dr-out": ("traffic", 11.0, 50.005),  # in no district
        "dr-aq": ("air_quality", 10.015, 50.005),
        "dr-e1": ("energy", 10.004, 50.004),
        "dr-e2": ("energy", 10.016, 50.006),
    }
    sensors = {
        code: Sensor.objects.create(code=code, kind=kind, geom=Point(x, y, srid=4326), source="t", source_id=code)
        for code, (kind, x, y) in spots.items()
    }
    return {"west": west, "east": east, **sensors}


VALUES = {
    "traffic": lambda k: {"vehicle_count": 3 + k % 7, "mean_speed_kmh": 30 + (k % 9) * 2.5},
    "air_quality": lambda k: {"pm2_5": 5 + (k % 4) * 0.5, "no2": 20 + k % 5},
    "energy": lambda k: {"energy_kwh": 0.25 * (1 + k % 3), "active_power_kw": 1.5 + (k % 5) * 0.5},
}


def send(sensors: list[Sensor], times: list[datetime]) -> None:
    """One batch through the real ingest path (ingest, then the fold). Values are multiples of 1/4: their
    sums are exact in floating point in any order, so the two queries must agree to the bit."""
    batch = [
        IncomingReading(
            source="mqtt",
            sensor_code=s.code,
            payload=json.dumps({"time": t.isoformat(), "values": VALUES[s.kind](k + s.pk)}).encode(),
            received_at=NOW,
        )
        for k, t in enumerate(times)
        for s in sensors
    ]
    result = ingest_readings(batch, now=NOW + timedelta(minutes=5), evaluate=False)
    assert not result.rejected, result.rejected


def mine(rows: list[dict[str, Any]], city: dict[str, Any]) -> list[dict[str, Any]]:
    ours = {city["west"].pk, city["east"].pk}
    return [r for r in rows if r["district"] in ours]


def assert_same_as_per_sensor(city: dict[str, Any], operator: Any) -> None:
    for user in (operator, AnonymousUser()):
        new = mine(district_hourly(user=user, properties=PROPS, start=WINDOW[0], end=WINDOW[1]), city)
        old = mine(per_sensor(user), city)
        assert new == old
        assert new, "the window holds data"
    assert drift() == 0


def every_minutes(start: datetime, count: int, step: int = 7) -> list[datetime]:
    return [start + timedelta(minutes=step * i) for i in range(count)]


@pytest.fixture
def history(city: dict[str, Any]) -> dict[str, Any]:
    everyone = [s for k, s in city.items() if isinstance(s, Sensor)]
    send(everyone, every_minutes(NOW - timedelta(hours=3), 20))  # over three hours
    send(everyone[:3], every_minutes(NOW + timedelta(minutes=2), 3, step=3))  # the current hour
    return city


def test_district_hourly_answers_as_the_per_sensor_query_did(history: dict[str, Any], operator: Any) -> None:
    assert_same_as_per_sensor(history, operator)
    rows = district_hourly(user=operator, properties=PROPS, start=WINDOW[0], end=WINDOW[1])
    hour = NOW - timedelta(hours=3)
    at = {(r["district"], r["property"]): r for r in rows if r["bucket"] == hour}
    west, east = history["west"].pk, history["east"].pk
    # dr-t1, dr-t2 and the edge sensor in West; the edge sensor alone in East; dr-out nowhere.
    assert at[(west, "vehicle_count")]["sensors"] == 3 and at[(east, "vehicle_count")]["sensors"] == 1
    assert at[(west, "energy_kwh")]["sensors"] == 1 and at[(east, "pm2_5")]["sensors"] == 1


def test_the_public_never_reaches_energy_meters_through_it(history: dict[str, Any], operator: Any) -> None:
    public = district_hourly(user=AnonymousUser(), properties=PROPS, start=WINDOW[0], end=WINDOW[1])
    staff = district_hourly(user=operator, properties=PROPS, start=WINDOW[0], end=WINDOW[1])
    assert {"energy_kwh", "active_power_kw"} & {r["property"] for r in mine(staff, history)}
    assert not {"energy_kwh", "active_power_kw"} & {r["property"] for r in public}


def test_late_readings_refold_their_hour(history: dict[str, Any], operator: Any) -> None:
    hour = NOW - timedelta(hours=3)
    before = DistrictRollup.objects.get(district=history["west"], kind="traffic", property="vehicle_count", bucket=hour)
    send([history["dr-t1"]], [hour + timedelta(minutes=59, seconds=30)])  # arrives hours late
    after = DistrictRollup.objects.get(district=history["west"], kind="traffic", property="vehicle_count", bucket=hour)
    assert after.n == before.n + 1 and after.total > before.total
    assert_same_as_per_sensor(history, operator)


def test_moving_deactivating_and_deleting_sensors_leave_no_stale_rows(history: dict[str, Any], operator: Any) -> None:
    Sensor.objects.filter(pk=history["dr-t1"].pk).update(geom=Point(10.017, 50.003, srid=4326))  # to East
    assert_same_as_per_sensor(history, operator)
    Sensor.objects.filter(pk=history["dr-t2"].pk).update(active=False)
    assert_same_as_per_sensor(history, operator)
    Sensor.objects.filter(pk=history["dr-out"].pk).update(geom=Point(10.005, 50.005, srid=4326))  # into West
    assert_same_as_per_sensor(history, operator)
    history["dr-edge"].delete()  # Django deletes its rollups, then the sensor
    assert_same_as_per_sensor(history, operator)


def test_reshaping_adding_and_deleting_districts_leave_no_stale_rows(history: dict[str, Any], operator: Any) -> None:
    west = history["west"]
    west.geom = square(10.0, 50.0, 10.005, 50.01)  # dr-t2 and the edge sensor fall out
    west.save()
    assert_same_as_per_sensor(history, operator)
    District.objects.create(geom=square(10.005, 50.0, 10.01, 50.01), name="Middle", source="t", source_id="m")
    assert DistrictRollup.objects.filter(district__name="Middle").exists()
    assert drift() == 0
    history["east"].delete()
    assert not DistrictRollup.objects.filter(district_id=history["east"].pk).exists()
    assert drift() == 0


def test_the_backfill_command_rebuilds_and_checks(history: dict[str, Any], operator: Any) -> None:
    DistrictRollup.objects.filter(district=history["west"]).delete()
    DistrictRollup.objects.filter(district=history["east"]).update(total=-1)
    assert drift() > 0
    with pytest.raises(CommandError, match="differ"):
        call_command("rebuild_district_rollups", "--check")
    call_command("rebuild_district_rollups")
    call_command("rebuild_district_rollups", "--check")
    assert_same_as_per_sensor(history, operator)
