"""Fault tests of the MQTT ingest path, with real processes and real kills: while a device publishes a
stream of readings (QoS 1), the broker is killed with SIGKILL, PostgreSQL is stopped with
`pg_ctl stop -m immediate`, or the ingest worker is killed with SIGKILL, and each is started again.
Every reading whose PUBACK the device got must be stored, exactly once (docs/ingest.md).

The module runs its own PostgreSQL cluster, Mosquitto and Redis (tests/faults.py), so the faults never
reach the dev stack or the other tests' database."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from .fault_stack import Stack, private_stack, tail
from .faults import (
    Publisher,
    Reading,
    Worker,
    count_stored,
    create_traffic_sensors,
    duplicate_rows,
    quarantined_duplicates,
    stored_readings,
    wait_until_settled,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

READINGS = 3000
RATE = 500.0  # readings per second
SENSORS_PER_SCENARIO = 4
OUTAGE_S = 2.0
SCENARIOS = ("broker", "postgres", "worker")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with private_stack() as started:
        yield started


@pytest.fixture(scope="module")
def sensors(stack: Stack) -> dict[str, dict[str, int]]:
    """Each scenario has its own sensors, so that counts never mix."""
    codes = {name: [f"fault-{name}-{i}" for i in range(SENSORS_PER_SCENARIO)] for name in SCENARIOS}
    ids = create_traffic_sensors(stack, [code for group in codes.values() for code in group])
    return {name: {code: ids[code] for code in group} for name, group in codes.items()}


@pytest.fixture
def worker(stack: Stack, request: pytest.FixtureRequest) -> Iterator[Worker]:
    client_id = f"citytwin-ingest-fault-{request.node.name.split('_')[1]}-{os.getpid()}"
    made = Worker(stack, client_id)
    try:
        made.start()
        yield made
    finally:
        made.stop()
        if stack.broker.proc is not None and stack.broker.proc.poll() is None:
            stack.broker.forget_session(client_id)


def readings_for(codes: list[str]) -> list[Reading]:
    """Distinct (sensor, time) keys: device times an hour ago, 100 ms apart, round-robin over the sensors."""
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    out = []
    for i in range(READINGS):
        when = base + timedelta(milliseconds=100 * i)
        body = {
            "time": when.isoformat(),
            "seq": i,
            "values": {"vehicle_count": i % 37, "mean_speed_kmh": float(20 + i % 50)},
        }
        out.append(Reading(codes[i % len(codes)], when, json.dumps(body).encode()))
    return out


@dataclass
class Outcome:
    readings: list[Reading]
    publisher: Publisher
    missing: list[int]  # indices into readings
    timings: dict[str, float] = field(default_factory=dict)
    diagnosis: str = ""


def run_with_fault(
    stack: Stack,
    worker: Worker,
    sensor_ids: dict[str, int],
    *,
    inflict: Callable[[], None],
    repair: Callable[[], None],
) -> Outcome:
    """Publish the stream; a third of the way in, inflict the fault and repair it OUTAGE_S later while the
    device keeps publishing; wait for the stored count to settle. Asserts what holds in every scenario
    (no duplicates, nothing unexpected, the worker alive); returns what is missing for the caller."""
    readings = readings_for(sorted(sensor_ids))
    publisher = Publisher(stack.broker.port, f"fault-device-{worker.client_id}")
    timings: dict[str, float] = {}
    started = time.monotonic()
    try:
        thread = publisher.start(readings, rate=RATE)
        deadline = time.monotonic() + 30
        while publisher.confirmed < READINGS // 3 and publisher.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert publisher.error is None, publisher.error
        assert publisher.confirmed >= READINGS // 3, "the publisher is too slow"
        stored_before = count_stored(stack.pg, sensor_ids)
        assert 0 < stored_before < READINGS, f"the fault must hit mid-stream ({stored_before} stored)"
        assert worker.alive(), worker.log_text

        timings["fault_at"] = time.monotonic() - started
        inflict()
        time.sleep(OUTAGE_S)
        repair()
        timings["repaired_at"] = time.monotonic() - started

        thread.join(timeout=90)
        assert not thread.is_alive(), "the publisher did not finish"
        assert publisher.error is None, f"{publisher.error}\n--- broker log\n{tail(stack.broker.log)}"
        timings["published_at"] = time.monotonic() - started
        wait_until_settled(stack.pg, sensor_ids, READINGS, timeout=60)
        timings["settled_at"] = time.monotonic() - started
        timings["republished"] = publisher.republished
        timings["quarantined_duplicates"] = quarantined_duplicates(stack.pg, list(sensor_ids))
    finally:
        publisher.close()

    stored = stored_readings(stack.pg, sensor_ids)
    index = {(r.code, r.time): i for i, r in enumerate(readings)}
    stored_keys = set(stored.keys)
    missing = sorted(i for key, i in index.items() if key not in stored_keys)
    unexpected = stored_keys - index.keys()
    diagnosis = (
        f"\nstored {stored.count} of {READINGS}; missing seq {missing[:10]}{' ...' if len(missing) > 10 else ''}"
        f"\n--- worker log\n{tail_text(worker.log_text)}\n--- broker log\n{tail(stack.broker.log)}"
    )
    assert duplicate_rows(stack.pg) == 0, diagnosis
    assert stored.count == len(stored_keys), diagnosis
    assert not unexpected, f"stored readings nobody published: {sorted(unexpected)[:5]}{diagnosis}"
    assert worker.alive(), f"the worker died{diagnosis}"
    return Outcome(readings, publisher, missing, timings, diagnosis)


def tail_text(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


class BrokerCrash:
    """kill -9 the broker, then start it again on the same persistence file."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def inflict(self) -> None:
        self.stack.broker.kill()

    def repair(self) -> None:
        self.stack.broker.start()


def test_broker_killed_mid_stream_loses_and_duplicates_nothing(
    stack: Stack, worker: Worker, sensors: dict[str, dict[str, int]]
) -> None:
    crash = BrokerCrash(stack)
    outcome = run_with_fault(stack, worker, sensors["broker"], inflict=crash.inflict, repair=crash.repair)
    print(f"broker kill: {outcome.timings}, lost {outcome.missing}")
    # The worker's persistent session survived the crash (it is in the broker's database file): the
    # reconnect found it, so the readings queued for the worker came back with it.
    log = worker.log_text
    assert log.count("connected to MQTT") >= 2, log
    assert "session present: True" in log.split("connected to MQTT", 2)[2], log
    assert not outcome.missing, outcome.diagnosis
    assert outcome.publisher.replayed > 0  # the device replayed its window after the reconnect


def test_postgres_stopped_mid_stream_loses_and_duplicates_nothing(
    stack: Stack, worker: Worker, sensors: dict[str, dict[str, int]]
) -> None:
    outcome = run_with_fault(
        stack,
        worker,
        sensors["postgres"],
        inflict=lambda: stack.pg.stop("immediate"),
        repair=stack.pg.start,
    )
    print(f"postgres stop: {outcome.timings}")
    assert not outcome.missing, outcome.diagnosis
    assert "database unavailable" in worker.log_text, worker.log_text


def test_worker_killed_mid_stream_loses_and_duplicates_nothing(
    stack: Stack, worker: Worker, sensors: dict[str, dict[str, int]]
) -> None:
    outcome = run_with_fault(stack, worker, sensors["worker"], inflict=worker.kill, repair=worker.start)
    print(f"worker kill: {outcome.timings}")
    assert not outcome.missing, outcome.diagnosis
    # The new process took over the same persistent session, so the broker redelivered what the killed
    # one had received but not acknowledged.
    assert len(worker.logs) == 2
    assert "session present: True" in worker.logs[1].read_text(), worker.log_text
