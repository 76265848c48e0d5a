"""Publishing readings over MQTT exactly as a real device does (docs/ingest.md): the demo feed's only way
out, so the ingest worker cannot tell it from a real deployment."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

TOPIC = "citytwin/v1/sensors/{code}/readings"


class Publisher:
    """Publishes readings with QoS 1 like a device (docs/ingest.md): paho reconnects by itself after a
    broker outage and sends what it queued meanwhile (up to max_queued; beyond that readings are dropped
    and counted), and after every reconnect the last REPLAY_S seconds are published again, because the
    broker acknowledges before it persists. Ingest stores the repeats once."""

    REPLAY_S = 5.0

    def __init__(self, url: str, *, client_id: str, max_queued: int = 20_000) -> None:
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 1883
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        if parsed.username:
            self.client.username_pw_set(parsed.username, parsed.password)
        if parsed.scheme in ("mqtts", "ssl"):
            self.client.tls_set()
        self.client.max_queued_messages_set(max_queued)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.connected = threading.Event()
        self.closing = False
        self._lock = threading.Lock()
        self.published = 0  # handed to paho
        self.acked = 0  # acknowledged by the broker (PUBACK)
        self.dropped = 0  # paho's queue was full (a long outage)
        self.replayed = 0
        self._recent: deque[tuple[float, str, str]] = deque()  # (monotonic time, topic, payload)
        self._connects = 0

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            log.error("MQTT connect refused: %s", reason)
            return
        log.info("connected to MQTT %s:%s", self.host, self.port)
        self._connects += 1
        if self._connects > 1:  # a reconnect: replay the window (from paho's thread, so no lock dance)
            with self._lock:
                recent = [(topic, payload) for _, topic, payload in self._recent]
            for topic, payload in recent:
                client.publish(topic, payload, qos=1)
            self.replayed += len(recent)
            log.info("replayed the last %d readings after the reconnect", len(recent))
        self.connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if self.connected.is_set() and not self.closing:
            log.warning("MQTT connection lost (%s); reconnecting, readings are queued", reason)
        self.connected.clear()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        with self._lock:
            self.acked += 1

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def publish(self, code: str, when: datetime, seq: int, values: dict[str, float]) -> None:
        payload = json.dumps(
            {"time": when.isoformat(timespec="milliseconds"), "seq": seq, "values": values}, separators=(",", ":")
        )
        topic = TOPIC.format(code=code)
        now = time.monotonic()
        with self._lock:
            self._recent.append((now, topic, payload))
            while self._recent and self._recent[0][0] < now - self.REPLAY_S:
                self._recent.popleft()
        info = self.client.publish(topic, payload, qos=1)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            self.dropped += 1
        else:  # MQTT_ERR_NO_CONN too: queued, sent after the reconnect
            self.published += 1

    @property
    def pending(self) -> int:
        with self._lock:
            return self.published - self.acked

    def close(self, *, timeout: float = 10.0) -> None:
        """Wait (bounded) until the broker has acknowledged what was published, then disconnect."""
        deadline = time.monotonic() + timeout
        while self.pending > 0 and self.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.pending > 0:
            log.warning("%d readings not acknowledged by the broker at shutdown", self.pending)
        self.closing = True
        self.client.disconnect()
        self.client.loop_stop()
