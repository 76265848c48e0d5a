"""Shared fixtures. The test database is created by pytest-django on the embedded PostGIS (or
DATABASE_URL); the demo city (the real Helsinki OSM extract) is loaded into it once per session, committed,
so that every test and the real ASGI server started for browser tests see it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from apps.accounts.models import Role, User
from apps.accounts.services import create_user

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "fixtures" / "samples"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # noqa: ANN001 - pytest-django's fixture
    from apps.imports.management.commands.load_city import demo_city_path
    from apps.imports.services import run_import

    with django_db_blocker.unblock():
        run_import(path=demo_city_path())


@pytest.fixture(autouse=True)
def city_data_version() -> None:
    """Each test starts on a new data version: a test's rolled-back writes change the city without any writer
    announcing it, so pages and tiles cached by an earlier test must not be served to the next."""
    from django.core.cache import cache

    from apps.core.data_version import VERSION_KEY, data_version

    data_version()
    cache.incr(VERSION_KEY)


@pytest.fixture
def samples() -> Path:
    return SAMPLES


def _user(role: Role) -> User:
    return create_user(username=f"test-{role}", password="pw-for-tests-only", role=role)


@pytest.fixture
def planner(db) -> User:  # noqa: ANN001
    return _user(Role.PLANNER)


@pytest.fixture
def operator(db) -> User:  # noqa: ANN001
    return _user(Role.OPERATOR)


@pytest.fixture
def gis_staff(db) -> User:  # noqa: ANN001
    return _user(Role.GIS_STAFF)


@pytest.fixture
def admin_user(db) -> User:  # noqa: ANN001
    return _user(Role.ADMIN)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def api_as():
    """api_as(user) -> an APIClient authenticated with the user's DRF token."""
    from rest_framework.authtoken.models import Token

    def make(user: User) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server_url(django_db_setup, django_db_blocker) -> Iterator[str]:  # noqa: ANN001
    """The real ASGI server (uvicorn, as `make run` serves) on the test database, for browser tests."""
    from django.db import connection

    name = connection.settings_dict["NAME"]
    url = database_url_for_tests()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "city.settings.test", "CITYTWIN_DB_POOL": "1"}
    log = open(ROOT / "var" / "test-server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "city.asgi:application", "--host", "127.0.0.1", "--port", str(port)),
            *("--ws", "websockets-sansio", "--ws-per-message-deflate", "false"),  # as bin/run serves
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz/", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the test server did not start; see {ROOT / 'var' / 'test-server.log'}")
        time.sleep(0.3)
    yield base
    proc.terminate()
    proc.wait(timeout=20)
    log.close()
    # The server's backends can outlive it for a while; the test database is dropped next, so end them.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )


def database_url_for_tests() -> str:
    from django.db import connection

    base = os.environ.get("DATABASE_URL", "postgis://citytwin@127.0.0.1:54329/citytwin").rsplit("/", 1)[0]
    return f"{base}/{connection.settings_dict['NAME']}"


@pytest.fixture(scope="session")
def live_sensors(django_db_setup, django_db_blocker) -> Iterator[dict[str, object]]:  # noqa: ANN001
    """Committed sensors (visible to subprocesses: the ingest worker and the server), one per kind, on
    real streets and buildings of the demo city."""
    from django.contrib.gis.geos import Point

    from apps.buildings.models import Building
    from apps.roads.models import RoadSegment
    from apps.sensors.models import Sensor

    with django_db_blocker.unblock():
        segment = RoadSegment.objects.filter(source="osm", highway="primary").order_by("id").first()
        building = Building.objects.filter(source="osm").order_by("id").first()
        made = {
            "traffic": Sensor.objects.create(
                code="live-traffic-1",
                kind="traffic",
                geom=segment.geom.interpolate_normalized(0.5),
                road_segment=segment,
                source="test",
                source_id="live-traffic-1",
            ),
            "air_quality": Sensor.objects.create(
                code="live-aq-1",
                kind="air_quality",
                geom=Point(24.9445, 60.1690, srid=4326),
                source="test",
                source_id="live-aq-1",
            ),
            "energy": Sensor.objects.create(
                code="live-energy-1",
                kind="energy",
                geom=building.geom.point_on_surface,
                building=building,
                source="test",
                source_id="live-energy-1",
            ),
        }
    yield made


@pytest.fixture(scope="session")
def ingest_worker(live_sensors, django_db_blocker) -> Iterator[subprocess.Popen]:  # noqa: ANN001
    """The real MQTT ingest worker (manage.py run_ingest) on the test database and the embedded broker,
    with its own client id so that it never takes over a developer's running worker."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_tests(),
        "DJANGO_SETTINGS_MODULE": "city.settings.test",
        "CITYTWIN_DB_POOL": "1",
    }
    client_id = f"citytwin-ingest-test-{os.getpid()}"
    log = open(ROOT / "var" / "test-ingest.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run_ingest", "--client-id", client_id, "--flush-interval", "0.05"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while "connected to MQTT" not in (ROOT / "var" / "test-ingest.log").read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the ingest worker did not start; see {ROOT / 'var' / 'test-ingest.log'}")
        time.sleep(0.2)
    yield proc
    proc.terminate()
    proc.wait(timeout=20)
    log.close()
    # End the worker's persistent session, or the broker would queue every later reading for it.
    from urllib.parse import urlparse

    import paho.mqtt.client as mqtt
    from django.conf import settings

    broker = urlparse(settings.MQTT_URL)
    cleaner = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    cleaner.connect(broker.hostname or "127.0.0.1", broker.port or 1883)
    cleaner.loop_start()
    time.sleep(0.3)
    cleaner.disconnect()
    cleaner.loop_stop()


def start_job_worker(
    log_path: Path, *, queue: str, env: dict[str, str] | None = None, beat: Path | None = None
) -> subprocess.Popen:
    """A real Celery job worker (as `make run` starts it) on the test database, in its own process group (a
    fault test kills the whole group); with Celery beat when `beat` names its schedule file."""
    full_env = {**os.environ, "DATABASE_URL": database_url_for_tests(), "DJANGO_SETTINGS_MODULE": "city.settings.test"}
    full_env.update({"CITYTWIN_DB_POOL": "0", "CITYTWIN_CELERY_QUEUE": queue.split(",")[0], **(env or {})})
    log = open(log_path, "w")  # noqa: SIM115 - the child keeps it; closed with the process
    args = [sys.executable, "-m", "celery", "-A", "city", "worker", "-Q", queue, "--concurrency", "1"]
    args += ["--without-gossip", "--without-mingle", "--loglevel", "info"]
    if beat is not None:
        args += ["-B", "--schedule", str(beat)]
    proc = subprocess.Popen(args, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    deadline = time.monotonic() + 60
    while "ready." not in log_path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the job worker did not start; see {log_path}")
        time.sleep(0.2)
    return proc


def stop_job_worker(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def job_worker(django_db_setup, django_db_blocker) -> Iterator[subprocess.Popen]:  # noqa: ANN001
    """The real Celery job worker on the test database and this session's queue."""
    from django.conf import settings

    queues = f"{settings.CELERY_TASK_DEFAULT_QUEUE},{settings.CITYTWIN_SIMULATION_QUEUE}"
    proc = start_job_worker(ROOT / "var" / "test-worker.log", queue=queues)
    yield proc
    stop_job_worker(proc)


@pytest.fixture
def run_queued_jobs():  # noqa: ANN201
    """run_queued_jobs() -> the jobs this test queued, run to their end in this process, inside the test's
    transaction (a worker process could not see the test's uncommitted rows). The job service's own
    connection is the test's here; the real worker and its own connection are tested in test_upload_job.py
    and test_jobs.py."""
    from unittest import mock

    from django.test import override_settings

    from apps.imports.jobs import JOB_KIND as IMPORT
    from apps.imports.jobs import run_import_job
    from apps.jobs import services
    from apps.jobs.models import Job, JobState
    from apps.simulation.jobs import run_seed
    from apps.simulation.services import JOB_KIND as SCENARIO_RUN
    from apps.simulation.tasks import settle_run_of

    work = {IMPORT: run_import_job, SCENARIO_RUN: run_seed}

    def run() -> list[Job]:
        jobs = list(Job.objects.filter(state=JobState.QUEUED).order_by("pk"))
        # The job's writes share the test's connection here, which an import's COPY holds while it reports
        # rows staged: only the unthrottled writes (step starts, the end) are made, never one inside a COPY.
        with mock.patch.object(services, "DB", "default"), override_settings(CITYTWIN_JOB_PROGRESS_INTERVAL_S=3600):
            for job in jobs:
                services.execute(job.pk, work[job.kind])
                if job.kind == SCENARIO_RUN:
                    settle_run_of(job.pk)  # as the task does after each seed
        for job in jobs:
            job.refresh_from_db()
        return jobs

    return run


@pytest.fixture(scope="session")
def sumo_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tests' own SUMO network cache: the test database's ids differ from the dev database's. One per
    session, so the SUMO and demo feed tests share the network and its route pool (seconds to build)."""
    return tmp_path_factory.mktemp("sumo")


@pytest.fixture(scope="session")
def sumo_network(django_db_setup, django_db_blocker, sumo_cache: Path):  # noqa: ANN001, ANN201
    """The SUMO network of the demo city, built from the stored roads into sumo_cache."""
    from apps.simulation.sumo.network import build_network

    with django_db_blocker.unblock():
        return build_network(cache_root=sumo_cache)


def in_thread(fn: Callable[[], Any]) -> Any:
    """Run fn in a thread of its own: its own connections, in autocommit, outside the test's transaction,
    as a worker process would be (the job connection must see committed rows)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
