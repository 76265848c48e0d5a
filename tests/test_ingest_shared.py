"""Scale-out of MQTT ingest, with real processes: two run_ingest workers on one shared subscription
(CITYTWIN_MQTT_SHARE_GROUP -> `$share/<group>/...`) split a device's QoS 1 stream; one of them is killed
with SIGKILL mid-stream and started again (same client id, as a supervisor does). Every reading the device
got a PUBACK for must be stored exactly once (docs/ingest.md, "Several workers").

Mosquitto (2.0) keeps what it had handed to the killed worker, unacknowledged, in that worker's persistent
session, and goes on queueing that worker's share of new messages there while it is away; they are
delivered when it comes back. A reading delivered to both (a redelivery) is stored once (ON CONFLICT).
The module runs its own PostgreSQL, Mosquitto and Redis (tests/faults.py)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator

import pytest

from .fault_stack import Stack, private_stack, tail
from .faults import (
    Publisher,
    Worker,
    count_stored,
    create_traffic_sensors,
    duplicate_rows,
    stored_readings,
    wait_until_settled,
)
from .test_ingest_faults import RATE, READINGS, readings_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

GROUP = "ingest"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with private_stack() as started:
        yield started


def stored_by(worker: Worker) -> int:
    """What a worker that stopped cleanly says it stored (its last log line: WorkerStats)."""
    found = re.findall(r"stored=(\d+)", worker.logs[-1].read_text())
    assert found, worker.log_text
    return int(found[-1])


def test_two_workers_on_a_shared_subscription_split_the_stream_and_survive_a_kill(stack: Stack) -> None:
    codes = [f"shared-{i}" for i in range(4)]
    sensor_ids = create_traffic_sensors(stack, codes)
    env = {"CITYTWIN_MQTT_SHARE_GROUP": GROUP}
    first = Worker(stack, f"citytwin-ingest-shared-a-{os.getpid()}", env=env)
    second = Worker(stack, f"citytwin-ingest-shared-b-{os.getpid()}", env=env)
    readings = readings_for(codes)
    publisher = Publisher(stack.broker.port, f"shared-device-{os.getpid()}")
    try:
        first.start()
        second.start()
        for worker in (first, second):
            assert f"topic $share/{GROUP}/citytwin/v1/sensors/+/readings" in worker.log_text
        thread = publisher.start(readings, rate=RATE)
        deadline = time.monotonic() + 30
        while publisher.confirmed < READINGS // 3 and publisher.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        stored_before = count_stored(stack.pg, sensor_ids)
        assert 0 < stored_before < READINGS, f"the kill must hit mid-stream ({stored_before} stored)"
        first.kill()
        thread.join(timeout=90)
        assert not thread.is_alive(), "the publisher did not finish"
        assert publisher.error is None, f"{publisher.error}\n--- broker log\n{tail(stack.broker.log)}"
        # With the first worker gone, the second stores what comes to it; what the broker keeps for the
        # first one's session waits for its return.
        while_away = wait_until_settled(stack.pg, sensor_ids, READINGS, timeout=30, quiet=3)
        assert second.alive(), second.log_text
        first.start()  # the same client id: its persistent session, with what it had not acknowledged
        stored = wait_until_settled(stack.pg, sensor_ids, READINGS, timeout=60)
        first.stop()
        second.stop()
    finally:
        publisher.close()
        first.stop()
        second.stop()
        for worker in (first, second):
            stack.broker.forget_session(worker.client_id)

    print(f"shared subscription: {stored_before} stored before the kill, {while_away} with one worker, {stored} in all")
    diagnosis = (
        f"\n--- first worker\n{first.log_text[-3000:]}\n--- second worker\n{second.log_text[-3000:]}"
        f"\n--- broker log\n{tail(stack.broker.log)}"
    )
    keys = stored_readings(stack.pg, sensor_ids).keys
    published = {(r.code, r.time) for r in readings}
    assert len(keys) == len(set(keys)) == READINGS, f"stored {len(keys)} rows, {len(set(keys))} distinct{diagnosis}"
    assert set(keys) == published, diagnosis
    assert duplicate_rows(stack.pg) == 0
    assert "session present: True" in first.logs[1].read_text(), diagnosis
    # The stream was split: the surviving worker stored part of it, not all (the first worker stored some
    # before it was killed and the rest of its share after its restart).
    assert 0 < stored_by(second) < READINGS, diagnosis
    assert stored_by(first) > 0 or stored_before > 0, diagnosis
