"""A scenario run survives its worker and can be stopped: kill -9 the real Celery worker in the middle of a
simulation; a second worker (with beat, as `make run` starts it) takes the seed over once its lease has
run out and the run completes exactly once (one set of results, never two executions at once). Cancel
stops a running simulation and leaves no results."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.db import connection

from apps.jobs.models import Job, JobState
from apps.simulation.models import RunState, Scenario, ScenarioRun, SegmentResult
from apps.simulation.services import cancel_run, create_scenario, start_run
from apps.simulation.tasks import run_seed_task
from tests.conftest import ROOT, in_thread, start_job_worker, stop_job_worker

pytestmark = pytest.mark.django_db
LEASE_S = "3"
# Long enough that the simulation is still running seconds after it started: an hour of the morning.
DOC = {
    "begin": 7 * 3600,
    "end": 7 * 3600 + 2400,
    "interval": 600,
    "demand": {"source": "random", "period": 1.0, "seed": 11},
}


@pytest.fixture
def private() -> Iterator[dict]:
    """A private queue and the workers started on it, stopped afterwards; the test's scenarios deleted."""
    made: dict = {"queue": f"sim-faults-{uuid.uuid4().hex[:8]}", "workers": [], "names": []}
    yield made
    for proc in made["workers"]:
        if proc.poll() is None:
            stop_job_worker(proc)

    def clean() -> None:
        runs = ScenarioRun.objects.filter(scenario__name__in=made["names"])
        jobs = list(Job.objects.filter(seed_run__run__in=runs).values_list("pk", flat=True))
        runs.delete()
        Job.objects.filter(pk__in=jobs).delete()
        Scenario.objects.filter(name__in=made["names"]).delete()

    in_thread(clean)


def _worker(made: dict, name: str, *, beat: bool = False) -> None:
    env = {"CITYTWIN_JOB_LEASE_S": LEASE_S, "CITYTWIN_SIMULATION_QUEUE": made["queue"], "CITYTWIN_JOB_SWEEP_S": "1"}
    log = ROOT / "var" / f"test-{name}.log"
    beat_file = ROOT / "var" / f"test-{name}-beat" if beat else None
    made["workers"].append(start_job_worker(log, queue=made["queue"], env=env, beat=beat_file))


def _queue_run(made: dict, seeds: list[int], doc: dict | None = None) -> int:
    """A committed run whose seed tasks go to the private queue (the session's worker never sees them)."""
    name = f"fault-{uuid.uuid4().hex[:8]}"
    made["names"].append(name)

    def queue() -> int:
        scenario = create_scenario(document={"name": name, **(doc or DOC), "seeds": seeds}, owner=None)
        run = start_run(scenario=scenario, owner=None, enqueue=False)
        for seed_run in run.seed_runs.all():
            task = run_seed_task.apply_async(args=[seed_run.job_id], queue=made["queue"])
            Job.objects.filter(pk=seed_run.job_id).update(task_name=run_seed_task.name, task_id=task.id)
        return run.pk

    return in_thread(queue)


def _job_row(run_id: int) -> tuple[str, float, int, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT j.state, j.progress, j.attempts, j.log FROM jobs_job j JOIN simulation_seedrun s ON s.job_id = j.id "
            "WHERE s.run_id = %s",
            [run_id],
        )
        return cursor.fetchone()


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _run_state(run_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT state FROM simulation_scenariorun WHERE id = %s", [run_id])
        return str(cursor.fetchone()[0])


def test_kill_9_mid_simulation_and_the_run_completes_exactly_once(private) -> None:  # noqa: ANN001
    _worker(private, "sim-victim")
    run_id = _queue_run(private, [5])
    _wait(lambda: _job_row(run_id)[1] > 15, 300, "the simulation to be under way")
    victim = private["workers"][0]
    os.killpg(victim.pid, signal.SIGKILL)  # the worker and its child, mid-simulation
    victim.wait(timeout=20)
    state, progress, attempts, _ = _job_row(run_id)
    assert state == JobState.RUNNING and attempts == 1 and progress < 95

    _worker(private, "sim-rescuer", beat=True)
    _wait(lambda: _run_state(run_id) in ("succeeded", "failed", "cancelled"), 600, "the run to end")
    run = ScenarioRun.objects.get(pk=run_id)
    assert run.state == RunState.SUCCEEDED, run.error
    state, progress, attempts, log = _job_row(run_id)
    assert (state, progress, attempts) == (JobState.SUCCEEDED, 100.0, 2)
    # one set of results: every (segment, interval) once, and as many as a run of this seed makes
    rows = SegmentResult.objects.filter(seed_run__run=run)
    assert rows.count() == rows.values("segment_id", "interval_begin").distinct().count() > 1000
    assert log.count("segment results") == 1  # only the second attempt got to store
    assert log.count("simulating ") == 2  # both attempts simulated; the lease kept them apart in time
    assert run.kpis["vehicles_inserted"]["seeds"] and len(run.kpis["vehicles_inserted"]["seeds"]) == 1


def test_cancel_stops_a_running_simulation(private) -> None:  # noqa: ANN001
    _worker(private, "sim-cancel")
    run_id = _queue_run(private, [1])
    _wait(lambda: _job_row(run_id)[1] > 12, 300, "the simulation to be under way")
    in_thread(lambda: cancel_run(run=ScenarioRun.objects.get(pk=run_id)))
    _wait(lambda: _job_row(run_id)[0] != JobState.RUNNING, 60, "the seed to stop")
    state, progress, _, _ = _job_row(run_id)
    assert state == JobState.CANCELLED and progress < 95
    _wait(lambda: _run_state(run_id) == "cancelled", 30, "the run to settle as cancelled")
    assert not SegmentResult.objects.filter(seed_run__run_id=run_id).exists()
    # the worker is free again: the next run on it completes
    second = _queue_run(private, [2], {**DOC, "end": DOC["begin"] + 600})
    _wait(lambda: _run_state(second) in ("succeeded", "failed"), 600, "the next run")
    assert _run_state(second) == "succeeded"
