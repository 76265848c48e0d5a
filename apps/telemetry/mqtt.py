"""The MQTT ingest worker: subscribes with QoS 1 on a persistent session, stores in batches, and
acknowledges each message only after the batch that holds it is committed.

If the database is down, the batch is retried (the insert is idempotent) and nothing is acknowledged,
so the broker keeps the messages. If this process dies, the broker redelivers every unacknowledged
message to the next one (same client id, clean_session=False). A duplicate delivery is stored once.

Scale-out: with a share group (CITYTWIN_MQTT_SHARE_GROUP, or --share-group) the worker subscribes to
`$share/<group>/<topic>` and the broker hands each message to one of the group's workers. Each worker keeps
its own persistent session (its own fixed client id): Mosquitto leaves what it had sent to a worker that
dies, unacknowledged, in that worker's session until the worker comes back with the same client id, so a
dead worker must be restarted (docs/ingest.md); a message delivered twice is still stored once.

The loop writes as soon as a message waits (woken by the arrival, no fixed sleep); the batch grows by itself
while the previous one is being written. The PUBACKs of a batch go out in one socket write after the commit."""

from __future__ import annotations

import logging
import signal
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from django.db import close_old_connections, connection
from django.db.utils import InterfaceError, OperationalError
from django.utils import timezone

from .gate import payload_text
from .ingest import IncomingReading, IngestResult, ensure_partitions, fold_rollups, ingest
from .models import QuarantinedReading, QuarantineReason
from .payloads import pg_text
from .services import after_ingest, evaluate_pending_alerts

log = logging.getLogger(__name__)
TOPIC = "citytwin/v1/sensors/+/readings"
ALERT_EVERY_S = 5.0
FOLD_EVERY_S = 1.0
IDLE_WAKE_S = 0.5  # with nothing arriving, how often the loop looks at the stop flag and its time limit


def subscription(group: str | None) -> str:
    """The topic filter to subscribe to: the readings topic, shared by a group of workers if one is named."""
    return f"$share/{group}/{TOPIC}" if group else TOPIC


def ack_batch(client: mqtt.Client, messages: list[mqtt.MQTTMessage]) -> None:
    """Acknowledge every message of a committed batch. MQTT needs a PUBACK per QoS 1 message; paho's ack()
    queues each as its own packet with its own wake-up of the network thread and its own socket write (a
    tenth of the worker's CPU at one reading per message). Here the batch's PUBACKs, byte for byte what
    ack() would send, go to paho's send queue as one buffer: one wake-up, one write. paho 2.x has no public
    call for that, so without its queue (another paho version) each is acknowledged on its own."""
    queue_packet = getattr(client, "_packet_queue", None)
    ones = [m.mid for m in messages if m.qos == 1]
    if queue_packet is None or not ones:
        for m in messages:
            client.ack(m.mid, m.qos)
        return
    queue_packet(mqtt.PUBACK, b"".join(struct.pack("!BBH", mqtt.PUBACK, 2, mid) for mid in ones), 0, 0)
    for m in messages:
        if m.qos == 2:  # not subscribed at QoS 2; kept correct all the same
            client.ack(m.mid, m.qos)


@dataclass
class WorkerStats:
    received: int = 0
    stored: int = 0
    rejected: int = 0
    batches: int = 0
    retries: int = 0


def sensor_code_of(message: mqtt.MQTTMessage) -> str:
    """The sensor the message's topic names; "" if it names none (an empty level, a topic that is not
    UTF-8): such a message is quarantined, whatever its body says, since only the topic is checked by the
    broker's ACL."""
    try:
        parts = message.topic.split("/")
    except UnicodeDecodeError:  # Mosquitto refuses such topics; another broker might not
        return ""
    if len(parts) == 5 and parts[:3] == ["citytwin", "v1", "sensors"] and parts[4] == "readings":
        return parts[3]
    return ""


class IngestWorker:
    def __init__(
        self,
        url: str,
        *,
        client_id: str = "citytwin-ingest",
        batch_size: int = 2000,
        flush_interval: float = 0.0,
        share_group: str | None = None,
    ) -> None:
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 1883
        self.username, self.password = parsed.username, parsed.password
        # flush_interval: how long to wait for a full batch once a message is there (0: write at once).
        self.batch_size, self.flush_interval = batch_size, flush_interval
        self.topic = subscription(share_group)
        self.queue: deque[mqtt.MQTTMessage] = deque()
        self.arrived = threading.Event()
        self.stop_event = threading.Event()
        self.stats = WorkerStats()
        self.alerts_at = 0.0
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, manual_ack=True
        )
        if self.username:
            self.client.username_pw_set(self.username, self.password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            log.error("MQTT connect refused: %s", reason)
            return
        log.info("connected to MQTT %s:%s (session present: %s)", self.host, self.port, flags.session_present)
        client.subscribe(self.topic, qos=1)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.queue.append(message)
        self.arrived.set()

    def _wait_for_messages(self) -> None:
        """Return as soon as a message waits (after IDLE_WAKE_S at most); with a flush interval, then wait
        that long at most for a full batch."""
        self.arrived.clear()  # before looking at the queue: an arrival after this sets it again
        if not self.queue:
            self.arrived.wait(IDLE_WAKE_S)
        if self.flush_interval > 0 and 0 < len(self.queue) < self.batch_size:
            deadline = time.monotonic() + self.flush_interval
            while len(self.queue) < self.batch_size and time.monotonic() < deadline:
                time.sleep(min(0.005, self.flush_interval))

    def _take(self) -> list[mqtt.MQTTMessage]:
        batch: list[mqtt.MQTTMessage] = []
        while self.queue and len(batch) < self.batch_size:
            batch.append(self.queue.popleft())
        return batch

    def _store(self, messages: list[mqtt.MQTTMessage]) -> None:
        now = timezone.now()
        batch = [
            IncomingReading(source="mqtt", sensor_code=sensor_code_of(m), payload=bytes(m.payload), received_at=now)
            for m in messages
        ]
        delay = 0.2
        while not self.stop_event.is_set():
            try:
                result = ingest(batch, now=now)  # committed when it returns
                break
            except (OperationalError, InterfaceError) as exc:
                # The database is down or restarting: keep the batch, unacknowledged, and try again.
                self.stats.retries += 1
                log.warning("database unavailable (%s); retrying in %.1f s", str(exc).strip().splitlines()[0], delay)
                close_old_connections()
                connection.close()
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception:
                # A bug, not an outage: retrying the same batch would fail forever. Store what can be
                # stored one by one and quarantine the rest, so one bad message never blocks the stream.
                log.exception("batch of %d failed; storing its messages one by one", len(batch))
                result = self._store_one_by_one(batch)
                break
        else:
            return  # stopping: nothing acknowledged, the broker redelivers
        ack_batch(self.client, messages)  # only now, after the commit, and before anything slower
        after_ingest(result)  # the maintenance thread folds these and evaluates their alerts
        self.stats.batches += 1
        self.stats.received += len(messages)
        self.stats.stored += len(result.stored)
        self.stats.rejected += len(result.rejected)

    def _maintain_forever(self) -> None:
        """The maintenance thread, with its own database connection, so that neither holds up the ingest
        loop. It keeps up after ALL ingest, not only this worker's: HTTP ingest leaves the fold and the alerts
        to it. Every FOLD_EVERY_S it folds whatever readings are queued into the rollups (many readings per
        rollup row when they arrive fast), and every ALERT_EVERY_S it evaluates alerts for the sensors the
        folds queued since the last time (rules look at minutes of data; evaluating after every batch was
        80 % of the worker's time)."""
        try:
            while not self.stop_event.wait(FOLD_EVERY_S):
                self._maintain()
        finally:
            connection.close()  # this thread's connection

    def _maintain(self) -> None:
        try:
            # None: another process is folding right now; it queues the alerts of what it folds.
            fold_rollups()
        except (OperationalError, InterfaceError):
            log.warning("could not fold rollups (database unavailable); trying again")
            connection.close()
            return
        except Exception:  # noqa: BLE001 - the readings stay queued; ingest goes on
            log.exception("folding rollups failed")
            return
        now = time.monotonic()
        if now - self.alerts_at < ALERT_EVERY_S:
            return
        self.alerts_at = now
        try:
            evaluate_pending_alerts()
        except Exception:  # noqa: BLE001 - alerting must never stop ingest; the sensors stay queued
            log.exception("alert evaluation failed")
            connection.close()

    def _store_one_by_one(self, batch: list[IncomingReading]) -> IngestResult:
        total = IngestResult(received=len(batch))
        for message in batch:
            try:
                one = ingest([message], now=message.received_at)
                total.stored += one.stored
                total.rejected += one.rejected
            except (OperationalError, InterfaceError):
                raise
            except Exception as exc:  # noqa: BLE001 - recorded, then acknowledged
                log.exception("message from %s could not be stored", message.sensor_code)
                try:
                    QuarantinedReading.objects.create(
                        received_at=message.received_at,
                        source=message.source,
                        sensor_code=pg_text(message.sensor_code or "")[:64],
                        reason=QuarantineReason.MALFORMED,
                        detail=f"could not be processed: {type(exc).__name__}",
                        payload=payload_text(message.payload),
                    )
                except (OperationalError, InterfaceError):
                    raise
                except Exception:  # noqa: BLE001 - a poison message must not stop the stream: logged, acknowledged
                    log.exception("could not quarantine it either; its payload: %r", payload_text(message.payload))
        return total

    def run(self, *, max_seconds: float | None = None) -> WorkerStats:
        ensure_partitions()
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        maintenance = threading.Thread(target=self._maintain_forever, name="ingest-maintenance", daemon=True)
        maintenance.start()
        started = last_report = time.monotonic()
        try:
            while not self.stop_event.is_set():
                if max_seconds is not None and time.monotonic() - started > max_seconds:
                    break
                self._wait_for_messages()
                messages = self._take()
                if messages:
                    try:
                        self._store(messages)
                    except (OperationalError, InterfaceError):
                        # The database went away in the middle of the one-by-one fallback: put the batch
                        # back (unacknowledged) and go round again.
                        self.queue.extendleft(reversed(messages))
                        connection.close()
                        time.sleep(1)
                if time.monotonic() - last_report > 30:
                    last_report = time.monotonic()
                    log.info("ingest: %s", self.stats)
        finally:
            self.stop_event.set()
            maintenance.join(timeout=60)
            self.client.loop_stop()
            self.client.disconnect()
        return self.stats

    def install_signal_handlers(self) -> None:
        def stop(signum: int, frame: Any) -> None:
            self.stop_event.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
