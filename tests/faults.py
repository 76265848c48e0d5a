"""What fault tests run on a private stack (fault_stack.py): the MQTT ingest worker (manage.py run_ingest)
as a subprocess that can be killed for real, a publisher that behaves like a device with a local buffer, the
sensors they use, and the checks of what was stored (counts, duplicates, quarantine)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from .fault_stack import ROOT, TOPIC, Postgres, Stack, manage, wait_for


def create_traffic_sensors(stack: Stack, codes: Sequence[str]) -> dict[str, int]:
    """Create the sensors through the model (a subprocess on the private database); returns code -> id.
    Traffic sensors: their properties have no rate-of-change check, so any value sequence is valid."""
    script = (
        "import json, os\n"
        "from django.contrib.gis.geos import Point\n"
        "from apps.sensors.models import Sensor\n"
        "for i, code in enumerate(json.loads(os.environ['FAULT_SENSOR_CODES'])):\n"
        "    Sensor.objects.create(code=code, kind='traffic', geom=Point(24.94 + i * 0.0005, 60.17, srid=4326),"
        " source='fault-test', source_id=code)\n"
    )
    manage(["shell", "-c", script], stack.env(CITYTWIN_DB_POOL="0", FAULT_SENSOR_CODES=json.dumps(list(codes))))
    with stack.pg.connect() as conn:
        rows = conn.execute("SELECT code, id FROM sensors_sensor WHERE code = ANY(%s)", [list(codes)]).fetchall()
    return dict(rows)


class Worker:
    """manage.py run_ingest on the private stack; every start logs to its own file."""

    def __init__(self, stack: Stack, client_id: str, *, env: dict[str, str] | None = None) -> None:
        self.stack, self.client_id, self.extra_env = stack, client_id, env or {}
        self.proc: subprocess.Popen | None = None
        self.logs: list[Path] = []

    @property
    def log_text(self) -> str:
        return "\n".join(f"===== {p.name} =====\n{p.read_text(errors='replace')}" for p in self.logs if p.exists())

    def start(self) -> None:
        log_path = self.stack.run_dir / f"worker-{self.client_id}-{len(self.logs) + 1}.log"
        self.logs.append(log_path)
        with log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "run_ingest",
                    "--url",
                    self.stack.broker.url,
                    "--client-id",
                    self.client_id,
                    "--flush-interval",
                    "0.05",
                ],
                cwd=ROOT,
                env=self.stack.env(CITYTWIN_DB_POOL="1", **self.extra_env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(
            lambda: "connected to MQTT" in log_path.read_text() or self.proc.poll() is not None,
            timeout=60,
            what="the ingest worker to connect",
            interval=0.1,
        )
        if self.proc.poll() is not None:
            raise RuntimeError(f"the ingest worker exited with {self.proc.returncode}:\n{self.log_text}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """kill -9: whatever it had received but not committed is neither stored nor acknowledged."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@dataclass(frozen=True)
class Reading:
    code: str
    time: datetime
    payload: bytes


class Publisher:
    """Publishes QoS 1 like a device following docs/ingest.md: a reading counts as sent only when the
    broker has acknowledged it (PUBACK); one that is not acknowledged in time is published again once the
    connection is back; and after every reconnect the device republishes what the broker acknowledged in
    the last REPLAY_S seconds, because a broker killed right after a PUBACK may not have saved the message
    (Mosquitto 2.0 acknowledges before it persists). Duplicates are expected; the ingest is idempotent."""

    REPLAY_S = 5.0

    def __init__(self, port: int, client_id: str, *, ack_timeout: float = 2.0, give_up_after: float = 45.0) -> None:
        self.ack_timeout, self.give_up_after = ack_timeout, give_up_after
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.connects = 0
        self.client.on_connect = self._on_connect
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        wait_for(self.client.is_connected, timeout=10, what="the publisher to connect")
        self.confirmed = 0
        self.acked_at: list[float] = []  # monotonic time of each reading's PUBACK, in publishing order
        self.publishes = 0
        self.republished = 0
        self.error: BaseException | None = None
        self.stopping = threading.Event()
        self.replayed = 0
        self._recent: list[tuple[float, Reading]] = []  # (PUBACK time, reading), the replay window

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.connects += 1

    def _replay_after_reconnect(self, handled_connects: int) -> int:
        """Republish the readings acknowledged in the last REPLAY_S seconds before the connection broke."""
        if self.connects <= handled_connects:
            return handled_connects
        seen = self.connects
        for _acked, reading in list(self._recent):  # trimmed to the window at each PUBACK
            self._send(reading)
            self.replayed += 1
        return seen

    def _send(self, reading: Reading) -> None:
        topic = TOPIC.format(code=reading.code)
        deadline = time.monotonic() + self.give_up_after
        while not self.stopping.is_set():
            info = self.client.publish(topic, reading.payload, qos=1)
            self.publishes += 1
            attempt_deadline = time.monotonic() + self.ack_timeout
            while time.monotonic() < attempt_deadline:
                try:
                    info.wait_for_publish(timeout=0.2)
                    if info.is_published():
                        return
                except RuntimeError:
                    # Not connected: paho keeps the message and resends it after reconnecting, but this
                    # info object can no longer tell us; publish again once connected.
                    time.sleep(0.05)
                    if not self.client.is_connected():
                        continue
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"no PUBACK for {reading.code} {reading.time} within {self.give_up_after} s")
            wait_for(
                lambda: self.client.is_connected() or self.stopping.is_set(),
                timeout=max(0.1, deadline - time.monotonic()),
                what="the broker to return",
            )
            self.republished += 1
        raise InterruptedError("the publisher was closed")

    def publish_all(self, readings: Sequence[Reading], *, rate: float) -> None:
        started = time.monotonic()
        handled_connects = self.connects
        try:
            for i, reading in enumerate(readings):
                if self.stopping.is_set():
                    return
                pause = started + i / rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                self._send(reading)
                acked = time.monotonic()
                self.acked_at.append(acked)
                self._recent.append((acked, reading))
                self._recent = [r for r in self._recent if r[0] >= acked - self.REPLAY_S]
                self.confirmed = i + 1
                handled_connects = self._replay_after_reconnect(handled_connects)
        except BaseException as exc:  # noqa: BLE001 - reported by the thread's owner
            self.error = exc

    def start(self, readings: Sequence[Reading], *, rate: float) -> threading.Thread:
        thread = threading.Thread(target=self.publish_all, args=(readings,), kwargs={"rate": rate}, daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.stopping.set()  # a test that failed half-way must not leave a device publishing into the next
        with contextlib.suppress(Exception):
            self.client.disconnect()
        self.client.loop_stop()


@dataclass
class Stored:
    keys: list[tuple[str, datetime]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.keys)


def stored_readings(pg: Postgres, sensor_ids: dict[str, int]) -> Stored:
    with pg.connect() as conn:
        rows = conn.execute(
            "SELECT s.code, r.time FROM telemetry_reading r JOIN sensors_sensor s ON s.id = r.sensor_id"
            " WHERE r.sensor_id = ANY(%s)",
            [list(sensor_ids.values())],
        ).fetchall()
    return Stored([(code, when) for code, when in rows])


def count_stored(pg: Postgres, sensor_ids: dict[str, int]) -> int:
    with pg.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM telemetry_reading WHERE sensor_id = ANY(%s)", [list(sensor_ids.values())]
        ).fetchone()
    return int(row[0])


def quarantined_duplicates(pg: Postgres, codes: Sequence[str]) -> int:
    """Redeliveries the quality gate refused as `duplicate` (each one is a quarantine row)."""
    with pg.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM telemetry_quarantinedreading WHERE reason = 'duplicate' AND sensor_code = ANY(%s)",
            [list(codes)],
        ).fetchone()
    return int(row[0])


def duplicate_rows(pg: Postgres) -> int:
    with pg.connect() as conn:
        row = conn.execute("SELECT count(*) - count(DISTINCT (sensor_id, time)) FROM telemetry_reading").fetchone()
    return int(row[0])


def wait_until_settled(
    pg: Postgres, sensor_ids: dict[str, int], expected: int, *, timeout: float = 60, quiet: float = 8
) -> int:
    """Poll the stored count until it reaches `expected`, or has not changed for `quiet` seconds (the
    worker may be waiting out a reconnect or retry back-off of up to 5 s), or `timeout` passes."""
    deadline = time.monotonic() + timeout
    last, changed_at = -1, time.monotonic()
    while True:
        now_count = count_stored(pg, sensor_ids)
        if now_count != last:
            last, changed_at = now_count, time.monotonic()
        if now_count >= expected or time.monotonic() - changed_at > quiet or time.monotonic() > deadline:
            return now_count
        time.sleep(0.25)
