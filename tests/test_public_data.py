"""Demo history: `create_demo_sensors --history` writes the demo city's past hours once (what `make run`
does, so the hourly views show something on day one).

The browser half of this file (an anonymous visitor reading the public Dash board and the portal's district
tables with this history) is out of the suite until a bug it found is fixed: after the public board's
callbacks ran on real energy history, the live server's connection pool was exhausted and every later
request failed with "couldn't get a connection after 10 s" (seen twice on 2026-12-02; see the stop's note)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command

pytestmark = pytest.mark.django_db
PREFIX = "pubd"
HOURS = 6


@pytest.fixture(scope="module")
def history(sumo_network, django_db_blocker) -> Iterator[dict[str, Any]]:  # noqa: ANN001
    """Committed demo sensors under a prefix of their own, with HOURS hours of history from the command."""
    from django.db import connection

    from apps.demo_feed.sensors import create_demo_sensors
    from apps.sensors.models import Sensor
    from apps.telemetry.models import Reading

    with django_db_blocker.unblock():
        sensors = create_demo_sensors(network=sumo_network, prefix=PREFIX).sensors
        ids = [s.id for s in sensors]
        call_command("create_demo_sensors", prefix=PREFIX, history=HOURS, verbosity=0)
        written = Reading.objects.filter(sensor_id__in=ids).count()
        call_command("create_demo_sensors", prefix=PREFIX, history=HOURS, verbosity=0)  # once only
        again = Reading.objects.filter(sensor_id__in=ids).count()
        cache.clear()
    yield {"sensors": sensors, "written": written, "again": again}
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            for table in ("telemetry_reading", "telemetry_rollup", "telemetry_latest"):
                cursor.execute(f"DELETE FROM {table} WHERE sensor_id = ANY(%s)", [ids])  # noqa: S608 - constant names
        Sensor.objects.filter(id__in=ids).delete()
        cache.clear()


def test_demo_history_is_written_once(history) -> None:  # noqa: ANN001
    meters = [s for s in history["sensors"] if s.kind == "energy"]
    assert len(meters) > 100  # enough meters for districts to pass k
    # readings every 15 min for every sensor over HOURS hours, a few left out on purpose
    assert history["written"] > 0.9 * len(history["sensors"]) * HOURS * 4
    assert history["again"] == history["written"]
