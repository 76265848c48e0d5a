"""The demo feed app with real components: the demo sensors on the SUMO network of the stored Helsinki road
graph, the time-of-day models, and the demo feed (libsumo, in its own process) publishing to the embedded
Mosquitto, its readings put through the real quality gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from apps.demo_feed.profiles import demand_factor, weather
from apps.demo_feed.sensors import create_demo_sensors, spread
from apps.energy.profiles import LOAD_PROFILES, load_factor
from apps.simulation.sumo.network import SumoNetwork
from apps.telemetry.catalog import properties_of

from .conftest import ROOT, database_url_for_tests

pytestmark = pytest.mark.django_db

FEED_SECONDS = 120
FEED_INTERVAL = 30


def test_demo_sensors_are_idempotent_and_linked(sumo_network: SumoNetwork, sumo_cache: Path, monkeypatch) -> None:  # noqa: ANN001
    from apps.sensors.models import Sensor

    first = create_demo_sensors(network=sumo_network)
    codes = [s.code for s in first.sensors]
    meters = [c for c in codes if "-meter-" in c]
    assert len(first.created) == len(codes) == 16 + 5 + len(meters)
    assert [c for c in codes if "-loop-" in c] == [f"hel-loop-{i:03d}" for i in range(1, 17)]
    assert [c for c in codes if "-aq-" in c] == [f"hel-aq-{i:03d}" for i in range(1, 6)]
    assert meters == [f"hel-meter-{i:03d}" for i in range(1, len(meters) + 1)]
    # Most homes, offices and building=yes (flats over shops) are metered, so districts pass the privacy
    # module's k (docs/privacy.md): every one of them with a footprint of at least 100 m².
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM buildings_building WHERE use = ANY(%s) AND ST_Area(geom::geography) >= 100",
            [["apartments", "residential", "house", "detached", "terrace", "dormitory", "office", "government", "yes"]],
        )
        meterable = cursor.fetchone()[0]
    assert len(meters) >= meterable > 200

    in_net = sumo_network.segment_ids()
    sensors = Sensor.objects.filter(code__in=codes).select_related("road_segment", "building")
    for s in sensors:
        assert s.source == "demo" and s.source_id == s.code and s.active
        if s.kind == "traffic":
            assert s.road_segment_id in in_net
            assert s.road_segment.highway in ("primary", "secondary", "tertiary")
            assert s.geom.distance(s.road_segment.geom) < 1e-6  # on the segment (its midpoint)
        elif s.kind == "energy":
            assert s.building is not None and s.building.geom.contains(s.geom)
        else:
            assert s.road_segment is None and s.building is None
    # Meters on buildings of different uses; loops spread out (no two closer than 100 m).
    assert len({s.tags["profile"] for s in sensors if s.kind == "energy"}) >= 5
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(ST_Distance(a.geom::geography, b.geom::geography)) FROM sensors_sensor a "
            "JOIN sensors_sensor b ON a.id < b.id WHERE a.code LIKE 'hel-loop-%%' AND b.code LIKE 'hel-loop-%%'"
        )
        assert cursor.fetchone()[0] > 100

    second = create_demo_sensors(network=sumo_network)
    assert (second.created, second.updated, second.deactivated) == ([], [], [])
    assert sorted(s.code for s in second.unchanged) == sorted(codes)

    # The command does the same (and finds the cached network through CITYTWIN_SUMO_CACHE).
    monkeypatch.setenv("CITYTWIN_SUMO_CACHE", str(sumo_cache))
    call_command("create_demo_sensors", verbosity=0)
    assert Sensor.objects.filter(source="demo", code__startswith="hel-").count() == len(codes)

    # Fewer loops asked for: the extra ones are switched off, their history kept.
    third = create_demo_sensors(network=sumo_network, loops=10)
    assert third.deactivated == [f"hel-loop-{i:03d}" for i in range(11, 17)]
    assert not Sensor.objects.get(code="hel-loop-016").active


def test_spread_takes_the_farthest_site_next() -> None:
    from apps.demo_feed.sensors import Site

    sites = [Site(str(i), x, 0.0, 0.0, 0.0, str(i)) for i, x in enumerate([0.0, 1.0, 10.0, 5.0, 9.0])]
    assert [s.key for s in spread(sites, 3)] == ["0", "2", "3"]


def test_the_models_stay_inside_the_catalog_ranges_and_rates() -> None:
    """Weather over a whole year and every load profile over a week stay physically plausible."""
    air = properties_of("air_quality")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for minute in range(0, 366 * 24 * 60, 7):
        t, h = weather(start + timedelta(minutes=minute), minute % 5)
        assert -30 < t < 35 and air["humidity_pct"].minimum <= h <= air["humidity_pct"].maximum
    for station in range(5):
        values = [weather(start + timedelta(minutes=m), station)[0] for m in range(0, 2 * 24 * 60)]
        assert max(abs(b - a) for a, b in zip(values, values[1:], strict=False)) < 0.1  # °C per minute
    for hour in range(7 * 24):
        moment = start + timedelta(hours=hour, minutes=30)
        assert 0.05 <= demand_factor(moment) <= 1.0
        for profile in LOAD_PROFILES:
            assert 0.1 <= load_factor(profile, moment) <= 1.0


# --- the feed, end to end ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def feed_sensors(sumo_network: SumoNetwork, django_db_blocker) -> Iterator[list[str]]:  # noqa: ANN001
    """Committed demo sensors (the feed runs in another process) under a prefix of their own, so that
    nothing this test publishes on the shared broker lands on a developer's hel-* sensors."""
    from apps.sensors.models import Sensor

    prefix = f"t{uuid.uuid4().hex[:6]}"
    with django_db_blocker.unblock():
        codes = [s.code for s in create_demo_sensors(network=sumo_network, prefix=prefix).sensors]
    yield codes
    with django_db_blocker.unblock():
        ids = list(Sensor.objects.filter(code__in=codes).values_list("id", flat=True))
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM telemetry_reading WHERE sensor_id = ANY(%s)", [ids])
        Sensor.objects.filter(id__in=ids).delete()


class Collector:
    """Subscribes to every sensor's readings on the broker before the feed starts."""

    def __init__(self, prefix: str, codes: list[str]) -> None:
        self.prefix = prefix
        self.messages: list[mqtt.MQTTMessage] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-demo-feed-sub-{os.getpid()}")
        # Only this test's sensors: a wildcard would also take everyone else's traffic on the shared broker
        # and could overflow this client's queue.
        topics = [(f"citytwin/v1/sensors/{code}/readings", 1) for code in codes]
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(topics)
        self.client.on_subscribe = lambda c, u, mid, codes, p: self.subscribed.set()
        self.client.on_message = self._on_message

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic.split("/")[3].startswith(self.prefix):
            self.messages.append(message)

    def __enter__(self) -> Collector:
        broker = urlparse(settings.MQTT_URL)
        self.client.connect(broker.hostname or "127.0.0.1", broker.port or 1883)
        self.client.loop_start()
        assert self.subscribed.wait(10), "no SUBACK from the embedded broker"
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_the_demo_feed_publishes_valid_readings(feed_sensors: list[str], sumo_cache: Path) -> None:
    from apps.telemetry.ingest import IncomingReading, ingest

    prefix = feed_sensors[0].split("-")[0] + "-"
    intervals = FEED_SECONDS // FEED_INTERVAL
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_tests(),
        "DJANGO_SETTINGS_MODULE": "city.settings.test",
        "CITYTWIN_SUMO_CACHE": str(sumo_cache),
    }
    log_path = ROOT / "var" / "test-demo-feed.log"
    with Collector(prefix, feed_sensors) as collector, open(log_path, "w") as log:
        command = [
            sys.executable,
            "manage.py",
            "run_demo_feed",
            "--speed",
            "0",
            "--seconds",
            str(FEED_SECONDS),
            "--interval",
            str(FEED_INTERVAL),
            "--constant-demand",  # the busiest hour whenever the test runs: counts must not depend on it
            "--url",
            settings.MQTT_URL,
            "--client-id",
            f"test-demo-feed-{os.getpid()}",
        ]
        started = time.monotonic()
        result = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=240)
        elapsed = time.monotonic() - started
        assert result.returncode == 0, log_path.read_text()[-3000:]
        deadline = time.monotonic() + 10
        while len(collector.messages) < intervals * len(feed_sensors) and time.monotonic() < deadline:
            time.sleep(0.1)
        messages = list(collector.messages)
    print(f"demo feed: {FEED_SECONDS} simulated s, {len(messages)} readings, {elapsed:.1f} s wall incl. start-up")

    # Every sensor, every interval, exactly once, numbered and spaced by the interval.
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in messages:
        by_code[m.topic.split("/")[3]].append(json.loads(m.payload))
    assert sorted(by_code) == sorted(feed_sensors)
    for code, readings in by_code.items():
        assert [r["seq"] for r in readings] == list(range(1, intervals + 1)), code
        times = [datetime.fromisoformat(r["time"]) for r in readings]
        assert all(t.tzinfo is not None for t in times)
        assert {(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)} == {FEED_INTERVAL}

    # The real quality gate accepts every reading. (A test session's ingest worker, if running, may have
    # stored them first: those come back as redeliveries of stored readings, having passed the same gate.)
    now = datetime.now(UTC)
    batch = [
        IncomingReading(source="mqtt", sensor_code=m.topic.split("/")[3], payload=bytes(m.payload), received_at=now)
        for m in messages
    ]
    stored = ingest(batch)
    assert stored.rejected == [], stored.rejected[:5]
    assert len(stored.stored) + stored.redelivered == intervals * len(feed_sensors)

    # Traffic flows past the loops; a loop reports a speed only when something passed.
    totals = {c: sum(r["values"]["vehicle_count"] for r in rs) for c, rs in by_code.items() if "-loop-" in c}
    assert sum(1 for total in totals.values() if total > 0) >= len(totals) // 2, totals
    for code, readings in by_code.items():
        for r in readings:
            values = r["values"]
            if "-loop-" in code:
                assert ("mean_speed_kmh" in values) == (values["vehicle_count"] > 0)
                assert 0 < values.get("mean_speed_kmh", 1) < 120
            elif "-aq-" in code:
                assert set(values) == {"pm2_5", "pm10", "no2", "temperature_c", "humidity_pct"}
                assert values["pm10"] >= values["pm2_5"] > 0 and values["no2"] > 0
            else:
                assert values["active_power_kw"] > 0 and values["energy_kwh"] > 0
