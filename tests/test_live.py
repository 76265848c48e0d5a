"""The live path end to end, with the real broker, ingest worker, Redis channel layer and ASGI server:
mosquitto_pub -> run_ingest -> PostGIS -> websocket subscriber."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import pytest
import websockets
from django.conf import settings
from django.db import connection

from apps.accounts.models import Role

pytestmark = pytest.mark.django_db


def run_async(coro: Any) -> Any:
    """Run a coroutine in its own thread and loop (Playwright keeps a loop in the main thread)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if "error" in box:
        raise box["error"]
    return box.get("value")


@pytest.fixture(scope="module")
def sessions(django_db_setup, django_db_blocker):  # noqa: ANN001
    """Committed accounts and their session cookies (the server process must see them)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from apps.accounts.models import User
    from apps.accounts.services import create_user

    keys = {}
    with django_db_blocker.unblock():
        for role in (Role.OPERATOR, Role.PLANNER, Role.INGEST):
            user = create_user(username=f"live-{role}", password="unused-password-123", role=role)
            store = SessionStore()
            store[SESSION_KEY] = str(user.pk)
            store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.create()
            keys[str(role)] = store.session_key
    yield keys
    with django_db_blocker.unblock():
        User.objects.filter(username__startswith="live-").delete()


def ws_url(server_url: str) -> str:
    return server_url.replace("http://", "ws://") + "/ws/"


def headers(server_url: str, session: str | None) -> dict[str, str]:
    out = {"Origin": server_url}
    if session:
        out["Cookie"] = f"sessionid={session}"
    return out


def publish(code: str, body: dict[str, Any]) -> None:
    broker = urlparse(settings.MQTT_URL)
    assert shutil.which("mosquitto_pub"), "mosquitto-clients is installed by bin/setup"
    subprocess.run(
        [
            "mosquitto_pub",
            "-h",
            broker.hostname,
            "-p",
            str(broker.port),
            "-q",
            "1",
            "-t",
            f"citytwin/v1/sensors/{code}/readings",
            "-m",
            json.dumps(body),
        ],
        check=True,
        timeout=10,
    )


def test_a_published_reading_is_stored_and_reaches_a_subscriber_within_a_second(
    server_url, ingest_worker, live_sensors, sessions
) -> None:  # noqa: ANN001
    sensor = live_sensors["air_quality"]
    lon, lat = sensor.geom.coords
    when = datetime.now(UTC).replace(microsecond=0).isoformat()

    async def scenario() -> tuple[dict[str, Any], float]:
        async with websockets.connect(
            ws_url(server_url), additional_headers=headers(server_url, sessions["operator"])
        ) as ws:
            await ws.send(
                json.dumps(
                    {
                        "action": "subscribe",
                        "id": "aq",
                        "topic": "readings",
                        "params": {
                            "kinds": ["air_quality"],
                            "bbox": [lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001],
                        },
                    }
                )
            )
            assert json.loads(await ws.recv())["type"] == "subscribed"
            snapshot = json.loads(await ws.recv())
            assert snapshot["type"] == "snapshot" and snapshot["seq"] == 0
            sent = time.monotonic()
            await asyncio.to_thread(
                publish, sensor.code, {"time": when, "seq": 1, "values": {"pm2_5": 17.5, "no2": 33.0}}
            )
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
                if message["type"] == "update" and any(i["sensor"] == sensor.code for i in message["items"]):
                    return message, time.monotonic() - sent

    message, latency = run_async(scenario())
    item = next(i for i in message["items"] if i["sensor"] == sensor.code)
    assert item["values"] == {"pm2_5": 17.5, "no2": 33.0} and message["seq"] >= 1
    print(f"mosquitto_pub -> websocket update: {latency * 1000:.0f} ms")
    assert latency < 1.0, f"{latency:.2f} s"
    with connection.cursor() as cursor:
        cursor.execute("SELECT values FROM telemetry_reading WHERE sensor_id = %s AND time = %s", [sensor.pk, when])
        assert json.loads(cursor.fetchone()[0]) == {"pm2_5": 17.5, "no2": 33.0}


def test_subscribers_only_get_their_kinds_and_area(server_url, ingest_worker, live_sensors, sessions) -> None:  # noqa: ANN001
    traffic = live_sensors["traffic"]

    async def scenario() -> list[dict[str, Any]]:
        async with websockets.connect(
            ws_url(server_url), additional_headers=headers(server_url, sessions["planner"])
        ) as ws:
            await ws.send(
                json.dumps({"action": "subscribe", "id": "e", "topic": "readings", "params": {"kinds": ["energy"]}})
            )
            await ws.recv()
            await ws.recv()
            await asyncio.to_thread(
                publish,
                traffic.code,
                {"time": datetime.now(UTC).isoformat(), "values": {"vehicle_count": 3, "mean_speed_kmh": 35.0}},
            )
            got = []
            try:
                while True:
                    got.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=1.5)))
            except TimeoutError:
                return got

    assert not [m for m in run_async(scenario()) if m["type"] == "update"]


def test_sockets_are_refused_without_a_person_or_from_another_origin(server_url, sessions) -> None:  # noqa: ANN001
    async def close_code(hdrs: dict[str, str]) -> Any:
        try:
            async with websockets.connect(ws_url(server_url), additional_headers=hdrs) as ws:
                await ws.recv()
        except websockets.exceptions.InvalidStatus as exc:
            return exc.response.status_code
        except websockets.exceptions.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None
        return None

    assert run_async(close_code(headers(server_url, None))) == 4401  # anonymous
    assert run_async(close_code(headers(server_url, sessions["ingest"]))) == 4401  # a machine account
    foreign = {"Origin": "http://evil.example", "Cookie": f"sessionid={sessions['operator']}"}
    assert run_async(close_code(foreign)) == 403
    no_origin = {"Cookie": f"sessionid={sessions['operator']}"}
    assert run_async(close_code(no_origin)) == 403


def test_topic_permissions(server_url, sessions) -> None:  # noqa: ANN001
    async def scenario() -> list[dict[str, Any]]:
        async with websockets.connect(
            ws_url(server_url), additional_headers=headers(server_url, sessions["planner"])
        ) as ws:
            await ws.send(json.dumps({"action": "subscribe", "id": "a", "topic": "alerts"}))
            await ws.send(json.dumps({"action": "subscribe", "id": "b", "topic": "nope"}))
            await ws.send(
                json.dumps({"action": "subscribe", "id": "c", "topic": "readings", "params": {"kinds": ["ghosts"]}})
            )
            return [json.loads(await ws.recv()) for _ in range(3)]

    replies = {m["id"]: m for m in run_async(scenario())}
    assert replies["a"]["code"] == "forbidden"
    assert replies["b"]["code"] == "unknown_topic"
    assert replies["c"]["code"] == "invalid"


def test_the_worker_survives_bad_messages_and_keeps_storing(ingest_worker, live_sensors) -> None:  # noqa: ANN001
    from apps.telemetry.models import QuarantinedReading

    code = live_sensors["traffic"].code
    broker = urlparse(settings.MQTT_URL)
    topic = f"citytwin/v1/sensors/{code}/readings"
    base = ["mosquitto_pub", "-h", broker.hostname, "-p", str(broker.port), "-q", "1", "-t", topic]
    subprocess.run([*base, "-m", '{"time": "2026-11-23T08:00:00Z", "values": {'], check=True, timeout=10)
    subprocess.run([*base, "-m", "[1, 2, 3]"], check=True, timeout=10)
    # 1 MB: the broker refuses packets over 64 KB and drops the publisher's connection.
    big = subprocess.run([*base, "-s"], input=b"x" * (1024 * 1024), timeout=10, capture_output=True)
    when = datetime.now(UTC).isoformat()
    publish(code, {"time": when, "values": {"vehicle_count": 9}})

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM telemetry_reading WHERE sensor_id = %s AND time = %s",
                [live_sensors["traffic"].pk, when],
            )
            if cursor.fetchone()[0] == 1:
                break
        time.sleep(0.1)
    else:
        raise AssertionError("the valid reading after the bad ones was not stored")
    assert ingest_worker.poll() is None  # still running
    reasons = set(QuarantinedReading.objects.filter(sensor_code=code).values_list("reason", flat=True))
    assert "malformed" in reasons
    assert big.returncode != 0  # refused by the broker (max_packet_size): it never reached the database
