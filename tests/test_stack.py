"""The embedded stack: real PostGIS, Redis and Mosquitto answer; external URLs start nothing locally."""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_postgis_is_real() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT postgis_full_version(), ST_AsText(ST_Transform(ST_SetSRID(ST_MakePoint(385000, 6672000), 3067), 4326))"
        )
        version, point = cursor.fetchone()
    assert "POSTGIS=" in version and point.startswith("POINT(24.9")


def test_redis_is_real() -> None:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    key = f"citytwin-test-{uuid.uuid4()}"
    client.set(key, "ok", ex=10)
    assert client.get(key) == b"ok"


def test_mosquitto_round_trip() -> None:
    import paho.mqtt.client as mqtt

    url = urlparse(settings.MQTT_URL)
    topic = f"citytwin/test/{uuid.uuid4()}"
    received = threading.Event()
    got: list[bytes] = []

    def on_message(client, userdata, message) -> None:  # noqa: ANN001
        got.append(message.payload)
        received.set()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = on_message
    sub.connect(url.hostname, url.port or 1883)
    sub.subscribe(topic, qos=1)
    sub.loop_start()
    try:
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        pub.connect(url.hostname, url.port or 1883)
        pub.loop_start()
        pub.publish(topic, b'{"hello": 1}', qos=1).wait_for_publish(5)
        assert received.wait(5)
        assert got == [b'{"hello": 1}']
        pub.loop_stop()
        pub.disconnect()
    finally:
        sub.loop_stop()
        sub.disconnect()


def test_external_urls_start_nothing(tmp_path: Path) -> None:
    started = tmp_path / "started"
    env = {
        **os.environ,
        "DATABASE_URL": "postgis://someone@db.invalid:5432/city",
        "REDIS_URL": "redis://cache.invalid:6379/0",
        "MQTT_URL": "mqtt://broker.invalid:1883",
        "CITYTWIN_STACK_STARTED": str(started),
        "CITYTWIN_STACK_ENV": str(tmp_path / "stack.env"),
    }
    result = subprocess.run([str(ROOT / "bin" / "stack"), "start"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "DATABASE_URL is set: using the external database" in result.stdout
    assert "REDIS_URL is set" in result.stdout and "MQTT_URL is set" in result.stdout
    assert started.read_text() == ""
    assert "DATABASE_URL=postgis://someone@db.invalid:5432/city" in (tmp_path / "stack.env").read_text()
