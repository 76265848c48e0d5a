"""A job survives its worker: kill -9 the real Celery worker in the middle of an import; a second worker
(with beat, as `make run` starts it) queues the job again once its lease has run out, and the import runs
to its end exactly once: one successful import run, every row stored once, the killed attempt's run marked."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import current_app

from apps.accounts.models import Role
from apps.accounts.services import create_user
from apps.buildings.models import Building
from apps.imports.jobs import upload_folder
from apps.imports.models import ImportRun, ImportState
from apps.imports.tasks import run_import_job_task
from apps.jobs.models import Job, JobState
from apps.jobs.services import create_job
from tests.conftest import ROOT, in_thread, start_job_worker, stop_job_worker

pytestmark = pytest.mark.django_db(databases=["default", "jobs"])
BUILDINGS = 60_000  # enough that the load is still running a second or two after it started
LEASE_S = "3"


def _grid_geojson(path: Path, source: str) -> None:
    x0, y0 = 384000.0, 6671000.0  # central Helsinki in EPSG:3067
    features = []
    for i in range(BUILDINGS):
        x, y = x0 + (i % 300) * 12, y0 + (i // 300) * 12
        ring = [[x, y], [x + 8, y], [x + 8, y + 8], [x, y + 8], [x, y]]
        features.append(
            {
                "type": "Feature",
                "properties": {"id": f"{source}-{i}", "building": "yes"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    crs = {"type": "name", "properties": {"name": "EPSG:3067"}}
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": crs, "features": features}))


def _wait_for(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def committed(tmp_path: Path) -> Iterator[dict]:
    """A committed gis_staff account and a saved upload (the workers are other processes); everything the
    test made is deleted afterwards. Database work runs in_thread: outside the test's transaction."""
    source = f"fault-{uuid.uuid4().hex[:8]}"
    user = in_thread(lambda: create_user(username=source, password="pw-for-tests-only", role=Role.GIS_STAFF))
    folder = upload_folder() / uuid.uuid4().hex
    folder.mkdir(parents=True)
    path = folder / f"{source}.geojson"
    _grid_geojson(path, source)
    made: dict = {"user": user, "path": path, "source": source, "queue": f"faults-{source}", "workers": []}
    yield made
    for proc in made["workers"]:
        if proc.poll() is None:
            stop_job_worker(proc)

    def clean() -> None:
        Building.objects.filter(source=source).delete()
        ImportRun.objects.filter(source_name=path.name).delete()
        Job.objects.filter(owner=user).delete()
        user.delete()

    in_thread(clean)


def test_a_killed_worker_s_import_runs_again_exactly_once(committed, tmp_path: Path) -> None:  # noqa: ANN001
    queue, source = committed["queue"], committed["source"]
    env = {"CITYTWIN_JOB_LEASE_S": LEASE_S, "CITYTWIN_JOB_SWEEP_S": "1"}
    first = start_job_worker(ROOT / "var" / "test-worker-faults-1.log", queue=queue, env=env)
    committed["workers"].append(first)

    def enqueue(job_id: int) -> str:
        return str(current_app.send_task(run_import_job_task.name, args=[job_id], queue=queue).id)

    job = in_thread(
        lambda: create_job(
            kind="import",
            owner=committed["user"],
            params={"path": str(committed["path"]), "display_name": committed["path"].name, "kind": "buildings"},
            enqueue=enqueue,
            task_name=run_import_job_task.name,
        )
    )

    def state() -> str:
        return in_thread(lambda: Job.objects.values_list("state", flat=True).get(pk=job.pk))

    _wait_for(lambda: state() == JobState.RUNNING, 60, "the first worker to start the job")
    time.sleep(1.0)
    assert state() == JobState.RUNNING, "the load finished before the kill: make the file larger"
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool child, mid-import
    first.wait(timeout=20)

    # The second worker, with beat: once the lease has run out the job is queued again and runs.
    second = start_job_worker(
        ROOT / "var" / "test-worker-faults-2.log", queue=queue, env=env, beat=tmp_path / "beat-schedule"
    )
    committed["workers"].append(second)
    _wait_for(lambda: state() in (JobState.SUCCEEDED, JobState.FAILED), 180, "the job to end")

    job = in_thread(lambda: Job.objects.get(pk=job.pk))
    assert (job.state, job.attempts, job.error) == (JobState.SUCCEEDED, 2, "")
    runs = in_thread(lambda: list(ImportRun.objects.filter(options__job=job.pk).order_by("pk")))
    assert [r.state for r in runs] == [ImportState.FAILED, ImportState.SUCCEEDED]
    assert runs[0].message == "its worker stopped; nothing was changed"
    assert runs[1].counts["buildings"]["created"] == BUILDINGS
    assert in_thread(lambda: Building.objects.filter(source=source).count()) == BUILDINGS
    assert not committed["path"].exists()  # the upload is removed once the job has run
