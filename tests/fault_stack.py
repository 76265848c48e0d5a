"""Real servers for fault tests, private to one test module: a PostgreSQL+PostGIS cluster, a Mosquitto
broker and a Redis, each on its own port under its own temporary directory, and the Stack of the three with
the project migrated into it. Every one of them can be killed for real and started again; nothing here
touches the shared dev stack (bin/stack) or the test database of the other tests. What runs on the stack
(the ingest worker, a device-like publisher, the checks of what was stored) is in faults.py."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
TOPIC = "citytwin/v1/sensors/{code}/readings"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def tail(path: Path, lines: int = 40, *, skip: str = "Saving in-memory database") -> str:
    """The last lines of a log, without the broker's line per autosave (one per second here)."""
    try:
        kept = [line for line in path.read_text(errors="replace").splitlines() if skip not in line]
    except OSError:
        return f"({path} is missing)"
    return "\n".join(kept[-lines:])


def make_run_dir() -> Path:
    """A directory under /tmp that the postgres and mosquitto users can traverse (/root is 0700, and
    pytest's tmp_path lives under a 0700 directory too)."""
    path = Path(tempfile.mkdtemp(prefix="citytwin-faults-", dir="/tmp"))
    path.chmod(0o755)
    return path


def _owned_dir(path: Path, user: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    shutil.chown(path, user, user)
    path.chmod(0o700)
    return path


class Postgres:
    """A private cluster: initdb as the postgres user, its own port and socket dir, PostGIS enabled."""

    def __init__(self, run_dir: Path, *, database: str = "citytwin") -> None:
        self.dir = _owned_dir(run_dir / "pg", "postgres")
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        self.database = database

    @property
    def url(self) -> str:
        return f"postgis://postgres@127.0.0.1:{self.port}/{self.database}"

    def _pg_ctl(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def init(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=True,
            timeout=60,
            stdout=subprocess.DEVNULL,
        )
        # fsync=off is safe against what these tests do (a process crash, not an OS crash): the WAL of
        # every commit is written to the kernel before the commit returns. synchronous_commit stays on:
        # with it off, `pg_ctl stop -m immediate` would lose commits the worker had acknowledged.
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.dir}'\n"
                "fsync = off\nfull_page_writes = off\nmax_connections = 50\nshared_buffers = 64MB\n"
            )
        self.start()
        self.sql("postgres", f"CREATE DATABASE {self.database}")
        self.sql(self.database, "CREATE EXTENSION postgis")

    def start(self) -> None:
        self._pg_ctl("-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (
            subprocess.run(
                ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=10,
            ).returncode
            == 0
        )

    def connect(self, database: str | None = None) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database or self.database, autocommit=True
        )

    def sql(self, database: str, statement: str) -> None:
        with self.connect(database) as conn:
            conn.execute(statement)

    def destroy(self) -> None:
        for mode in ("fast", "immediate"):
            if not self.running():
                break
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self.stop(mode)
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():  # the postmaster did not go: kill it
            with contextlib.suppress(ValueError, OSError):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)


class Mosquitto:
    """The broker as configured in docker/mosquitto/dev.conf (persistence, autosave every second),
    run in the foreground so that kill() is a real SIGKILL of the broker process."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = _owned_dir(run_dir / "mosquitto", "mosquitto")  # it drops to the mosquitto user
        self.port = free_port()
        self.conf = run_dir / "mosquitto.conf"
        self.log = run_dir / "mosquitto.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        # The stack's own config, so these tests prove what developers (and, for persistence, production)
        # run; only where it logs and its pid file change (it runs in the foreground here).
        text = (ROOT / "docker" / "mosquitto" / "dev.conf").read_text()
        text = text.replace("@PORT@", str(self.port)).replace("@DIR@", str(self.dir))
        kept = [line for line in text.splitlines() if not line.startswith(("pid_file ", "log_dest "))]
        self.conf.write_text(
            "\n".join(kept)
            + "\nlog_dest stderr\n"
            + "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            + "connection_messages true\n"
            + "log_timestamp_format %H:%M:%S\n"
        )

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def db_file(self) -> Path:
        return self.dir / "mosquitto.db"

    def start(self) -> None:
        self.starts += 1
        with self.log.open("a") as log:
            log.write(f"===== start {self.starts} =====\n")
            log.flush()
            self.proc = subprocess.Popen(
                ["mosquitto", "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT, cwd=self.dir
            )
        wait_for(lambda: port_open(self.port) or self.proc.poll() is not None, timeout=15, what="mosquitto")
        if self.proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited with {self.proc.returncode}:\n{tail(self.log)}")

    def kill(self) -> None:
        """kill -9: no chance to write its persistence file on the way out."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def destroy(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def forget_session(self, client_id: str) -> None:
        """Drop a persistent session (connect with clean_session=True), so that the broker stops queueing
        messages for a worker that is gone."""
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        with contextlib.suppress(OSError):
            client.connect("127.0.0.1", self.port, keepalive=10)
            client.loop_start()
            with contextlib.suppress(TimeoutError):
                wait_for(client.is_connected, timeout=5, what="a clean-session connect")
            client.disconnect()
            client.loop_stop()


class Redis:
    """A throwaway Redis: the worker streams every stored batch over Redis pub/sub (channels-redis), which
    no key prefix isolates, so the dev stack's Redis would show these readings to developers' browsers."""

    def __init__(self, run_dir: Path) -> None:
        self.port = free_port()
        self.dir = run_dir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: port_open(self.port), timeout=10, what="redis")

    def destroy(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def manage(args: Sequence[str], env: dict[str, str], *, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Stack:
    run_dir: Path
    pg: Postgres
    broker: Mosquitto
    redis: Redis

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.pg.url,
            "REDIS_URL": self.redis.url,
            "MQTT_URL": self.broker.url,
            "DJANGO_SETTINGS_MODULE": "city.settings.test",
            "CITYTWIN_CACHE_PREFIX": f"faults-{self.pg.port}",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }


@contextlib.contextmanager
def private_stack() -> Iterator[Stack]:
    """Start PostgreSQL (migrated), Mosquitto and Redis; stop and remove all of them afterwards, also when
    starting one of them failed."""
    run_dir = make_run_dir()
    with contextlib.ExitStack() as cleanup:
        if not os.environ.get("CITYTWIN_FAULTS_KEEP"):  # set it to keep the logs and data for a post-mortem
            cleanup.callback(shutil.rmtree, run_dir, True)
        pg, broker, redis = Postgres(run_dir), Mosquitto(run_dir), Redis(run_dir)
        cleanup.callback(pg.destroy)
        cleanup.callback(broker.destroy)
        cleanup.callback(redis.destroy)
        pg.init()
        broker.start()
        redis.start()
        stack = Stack(run_dir, pg, broker, redis)
        manage(["migrate", "--noinput"], stack.env(CITYTWIN_DB_POOL="0"), timeout=150)
        yield stack
