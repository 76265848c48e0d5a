"""Shared plumbing for the benchmarks in bench/ (see ../shared/BENCH.md for the method).

The benchmark database (`citytwin_bench` on the same server as DATABASE_URL), a uvicorn server on a free
port, a keep-alive HTTP client, pgbench with per-transaction latencies, and the statistics and printing
every bench_*.py shares. Each bench_*.py imports this module from its own folder and runs alone.

`python bench/benchlib.py prepare` creates, migrates and fills the benchmark database (bin/bench runs it
once); the scripts also prepare it themselves when it is missing."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
DEFAULT_DATABASE_URL = "postgis://citytwin@127.0.0.1:54329/citytwin"  # the embedded stack (bin/stack)
BENCH_DB = "citytwin_bench"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


# ---------------------------------------------------------------------------------------------- database
def dev_database_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def bench_database_url() -> str:
    """DATABASE_URL with the database name replaced by citytwin_bench (BENCH_DATABASE_URL overrides)."""
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    parts = urlsplit(dev_database_url())
    return urlunsplit((parts.scheme, parts.netloc, "/" + BENCH_DB, parts.query, parts.fragment))


@dataclass(frozen=True)
class PgTarget:
    host: str
    port: int
    user: str
    password: str | None
    dbname: str

    @classmethod
    def from_url(cls, url: str) -> PgTarget:
        p = urlsplit(url)
        return cls(
            host=p.hostname or "127.0.0.1",
            port=p.port or 5432,
            user=unquote(p.username or "postgres"),
            password=unquote(p.password) if p.password else None,
            dbname=unquote(p.path.lstrip("/")),
        )

    def conninfo(self, dbname: str | None = None) -> str:
        items = {"host": self.host, "port": str(self.port), "user": self.user, "dbname": dbname or self.dbname}
        if self.password:
            items["password"] = self.password
        return " ".join(f"{k}={v}" for k, v in items.items())

    def cli_args(self) -> list[str]:
        """Connection options for psql/pgbench (the password, if any, goes through PGPASSWORD)."""
        return ["-h", self.host, "-p", str(self.port), "-U", self.user]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def ogr(self) -> str:
        """The OGR PostgreSQL datasource string (without the password, which goes through PGPASSWORD)."""
        return f"PG:host={self.host} port={self.port} user={self.user} dbname={self.dbname}"


def connect(url: str | None = None, **kwargs: object):  # -> psycopg.Connection
    import psycopg

    return psycopg.connect(PgTarget.from_url(url or bench_database_url()).conninfo(), **kwargs)


def django_env(url: str | None = None) -> dict[str, str]:
    """The environment for manage.py / uvicorn against the benchmark database, in production mode."""
    env = dict(os.environ)
    env["DATABASE_URL"] = url or bench_database_url()
    # BENCH_SETTINGS lets one try a settings variant (e.g. a connection pool) against the same baseline.
    env["DJANGO_SETTINGS_MODULE"] = os.environ.get("BENCH_SETTINGS", "city.settings.dev")
    env["DJANGO_DEBUG"] = "false"
    return env


def setup_django() -> None:
    """Import Django in this process, pointed at the benchmark database."""
    os.environ.update(
        {k: v for k, v in django_env().items() if k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG")}
    )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def run(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, quiet: bool = False, **kwargs: object
) -> subprocess.CompletedProcess:
    """Run a command from the project root, echoing it, and fail loudly (with its output) if it fails."""
    if not quiet:
        print("  $ " + shell_line(cmd, env))
    proc = subprocess.run(list(cmd), cwd=ROOT, env=env, capture_output=True, text=True, **kwargs)  # noqa: S603
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"command failed ({proc.returncode}): {shell_line(cmd)}")
    return proc


def shell_line(cmd: Sequence[str], env: dict[str, str] | None = None) -> str:
    """The command as one could paste it into a shell (with the env vars that differ from ours)."""
    prefix = ""
    if env is not None:
        keys = ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG", "CITYTWIN_TILE_CACHE", "CITYTWIN_TILE_LEAN")
        changed = [f"{k}={shlex.quote(env[k])}" for k in keys if k in env and env.get(k) != os.environ.get(k)]
        prefix = " ".join(changed) + " " if changed else ""
    return prefix + " ".join(shlex.quote(str(c)) for c in cmd).replace(str(ROOT) + "/", "")


def prepare_bench_db(*, verbose: bool = True) -> str:
    """Create citytwin_bench (with PostGIS), migrate it and load the demo city into it, if not done yet."""
    url = bench_database_url()
    pg = PgTarget.from_url(url)
    say = print if verbose else (lambda *a, **k: None)
    say(f"Benchmark database: {redact(url)}")
    import psycopg

    if os.environ.get("CITYTWIN_BENCH_DB_READY"):  # bin/bench prepared it once already
        return url

    with psycopg.connect(pg.conninfo(dbname="postgres"), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [pg.dbname]).fetchone()
        if not exists:
            say(f'  SQL: CREATE DATABASE "{pg.dbname}"')
            admin.execute(f'CREATE DATABASE "{pg.dbname}"')
    with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        if not exists:
            say("  SQL: CREATE EXTENSION postgis")
    env = django_env(url)
    run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], env=env, quiet=not verbose)
    with psycopg.connect(pg.conninfo()) as conn:
        demo = conn.execute("SELECT count(*) FROM buildings_building WHERE source = 'osm'").fetchone()[0]
    if demo == 0:
        run([PYTHON, "manage.py", "load_city", "--demo", "-v0"], env=env, quiet=not verbose)
        with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
            # Fresh statistics now, so autovacuum does not change plans (and tile bytes) mid-benchmark.
            say("  SQL: VACUUM ANALYZE")
            conn.execute("VACUUM ANALYZE")
    with psycopg.connect(pg.conninfo()) as conn:
        sizes = conn.execute(
            "SELECT (SELECT count(*) FROM buildings_building WHERE source = 'osm'),"
            " (SELECT count(*) FROM roads_roadsegment), (SELECT count(*) FROM assets_utilityasset)"
        ).fetchone()
    say(f"  demo city in the benchmark database: {sizes[0]} buildings, {sizes[1]} road segments, {sizes[2]} assets")
    return url


def db_sessions(conn: object, dbname: str | None = None) -> int:
    """pg_stat_database.sessions (connections ever opened) for the benchmark database. Backends report
    it when they exit, so wait a moment after the connections you count have closed."""
    conn.execute("SELECT pg_stat_clear_snapshot()")  # type: ignore[attr-defined]
    row = conn.execute(  # type: ignore[attr-defined]
        "SELECT sessions FROM pg_stat_database WHERE datname = %s",
        [dbname or PgTarget.from_url(bench_database_url()).dbname],
    ).fetchone()
    return int(row[0])


def redact(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", url)


# ------------------------------------------------------------------------------------------------ server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """uvicorn serving city.asgi on a free loopback port, against the benchmark database."""

    def __init__(self, log_name: str = "server.log", env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.env = django_env() | (env or {})
        self.cmd = [
            str(VENV_BIN / "uvicorn"),
            "city.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            # as bin/run and the Dockerfile serve it (docs/streaming.md: why this protocol, why no compression)
            "--ws",
            "websockets-sansio",
            "--ws-per-message-deflate",
            "false",
        ]
        self.log_path = OUT / log_name
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        OUT.mkdir(parents=True, exist_ok=True)
        print("  $ " + shell_line(self.cmd, self.env) + f"   # log: {self.log_path.relative_to(ROOT)}")
        log = open(self.log_path, "w")  # noqa: SIM115 - the child keeps it open
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        log.close()
        try:
            wait_until_serving(self.proc, self.port, "/healthz/", timeout=60, what="uvicorn", log_path=self.log_path)
        except SystemExit:
            self.stop()
            raise
        print(f"  server pid {self.proc.pid} ready on 127.0.0.1:{self.port}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        stop_process(self.proc)
        print(f"  server pid {self.proc.pid} stopped")


def wait_until_serving(
    proc: subprocess.Popen, port: int, path: str, *, timeout: float, what: str, log_path: Path
) -> None:
    """Wait until GET `path` on `port` answers 200; SystemExit if `proc` exits or `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited ({proc.returncode}); see {log_path}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, _ = get_once(port, path)
            if status == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not answer {path} within {timeout:.0f} s; see {log_path}")


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def get_once(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@dataclass
class Sample:
    """One timed pass: how many operations in how many seconds, each one's latency, bytes moved."""

    ops: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    nbytes: int = 0

    @property
    def per_s(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.nbytes / self.seconds / 1e6 if self.seconds else 0.0


class RawHTTP:
    """A minimal HTTP/1.1 client on one keep-alive socket: one prepared GET, the response's head split off at
    the blank line, the body read by Content-Length (or chunks). http.client parses every response's headers
    with the email package; at the few-hundred-microsecond responses of a cached tile that client was the
    ceiling (bench/README.md, "Tiles"), while the baseline's pgbench is a C client."""

    _LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
    _CHUNKED = re.compile(rb"\r\ntransfer-encoding:[ \t]*chunked", re.IGNORECASE)

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection((host, port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.host = f"{host}:{port}"
        self.buf = bytearray()

    def close(self) -> None:
        self.sock.close()

    def _fill(self) -> None:
        data = self.sock.recv(1 << 18)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buf += data

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _line(self) -> bytes:
        while (i := self.buf.find(b"\r\n")) < 0:
            self._fill()
        return self._take(i + 2)[:-2]

    def request(self, path: str) -> bytes:
        return f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nAccept-Encoding: identity\r\n\r\n".encode()

    def get(self, request: bytes) -> tuple[int, bytes]:
        """Send a prepared request (see request()) and read its response: (status, body)."""
        self.sock.sendall(request)
        while (i := self.buf.find(b"\r\n\r\n")) < 0:
            self._fill()
        head = bytes(self.buf[: i + 2])
        del self.buf[: i + 4]
        status = int(head[9:12])
        if m := self._LENGTH.search(head):
            return status, self._take(int(m.group(1)))
        if self._CHUNKED.search(head):
            parts = []
            while size := int(self._line().split(b";")[0], 16):
                parts.append(self._take(size))
                self._take(2)
            while self._line():  # trailers, then the blank line
                pass
            return status, b"".join(parts)
        return status, b""  # 204/304: no body


def http_loop(port: int, path: str, seconds: float) -> Sample:
    """GET `path` over ONE keep-alive connection, back to back, for `seconds` (a single client, like
    pgbench -c 1), with RawHTTP. Any status but 200 stops the run."""
    client = RawHTTP(port)
    request = client.request(path)
    lat: list[float] = []
    nbytes = 0
    clock = time.perf_counter
    start = clock()
    end = start + seconds
    now = start
    try:
        while now < end:
            t0 = clock()
            status, body = client.get(request)
            now = clock()
            if status != 200:
                raise SystemExit(f"GET {path}: HTTP {status}: {body[:300]!r}")
            lat.append((now - t0) * 1000)
            nbytes += len(body)
    finally:
        client.close()
    return Sample(ops=len(lat), seconds=now - start, latencies_ms=lat, nbytes=nbytes)


# ----------------------------------------------------------------------------------------------- pgbench
def pgbench_path() -> str:
    found = shutil.which("pgbench")
    return found or str(PG_BIN / "pgbench")


def pgbench_command(sql_file: Path, seconds: int, url: str | None = None) -> list[str]:
    """The pgbench command line the baseline runs (pgbench() adds -l --log-prefix for the latencies)."""
    pg = PgTarget.from_url(url or bench_database_url())
    return [pgbench_path(), "-n", "-f", str(sql_file), "-c", "1", "-T", str(seconds), *pg.cli_args(), pg.dbname]


def pgbench(
    sql_file: Path, seconds: int, url: str | None = None, *, pgoptions: str | None = None
) -> tuple[Sample, list[str]]:
    """`pgbench -n -f FILE -c 1 -T seconds`, with -l for per-transaction latencies (and PGOPTIONS, e.g. the
    application's `-c jit=off`). Returns the sample (ops and time from the log, so they match the latencies)
    and the command line."""
    pg = PgTarget.from_url(url or bench_database_url())
    with tempfile.TemporaryDirectory(prefix="citytwin-pgbench-") as tmp:
        prefix = Path(tmp) / "log"
        cmd = [
            pgbench_path(),
            "-n",
            "-f",
            str(sql_file),
            "-c",
            "1",
            "-T",
            str(seconds),
            "-l",
            "--log-prefix",
            str(prefix),
            *pg.cli_args(),
            pg.dbname,
        ]
        env = pg.env() | ({"PGOPTIONS": pgoptions} if pgoptions else {})
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)  # noqa: S603
        if proc.returncode != 0:
            raise SystemExit(f"pgbench failed: {proc.stderr or proc.stdout}")
        lat: list[float] = []
        first = last = None
        for log in Path(tmp).glob("log.*"):
            for line in log.read_text().splitlines():
                # client_id transaction_no latency_us script_no epoch_s epoch_us
                f = line.split()
                lat.append(int(f[2]) / 1000)
                t_end = int(f[4]) + int(f[5]) / 1e6
                t_start = t_end - int(f[2]) / 1e6
                first = t_start if first is None else min(first, t_start)
                last = t_end if last is None else max(last, t_end)
        m = re.search(r"tps = ([\d.]+)", proc.stdout)
        tps = float(m.group(1)) if m else 0.0
    secs = (last - first) if lat and last and first else seconds
    sample = Sample(ops=len(lat), seconds=secs, latencies_ms=lat)
    sample.pgbench_tps = tps  # type: ignore[attr-defined] - pgbench's own figure, printed beside ours
    return sample, cmd


# -------------------------------------------------------------------------------------------- statistics
def pct(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) by linear interpolation; NaN when there are no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio_line(label: str, ours: float, baseline: float, goal: float = 0.8) -> str:
    r = ours / baseline if baseline else float("nan")
    verdict = "meets" if r >= goal else "BELOW"
    return f"{label}: throughput ratio ours/baseline = {r:.2f}x  ({verdict} the {goal}x goal)"


def header(title: str) -> None:
    print()
    print("=" * 100)
    print(title)
    print("=" * 100)


def machine() -> str:
    import platform

    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} vCPU {cpu}, {platform.platform()}, Python {platform.python_version()}"


def banner(script: str, what: str) -> None:
    header(f"{script}: {what}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}   machine: {machine()}")
    with contextlib.suppress(Exception), connect() as conn:
        print(
            "server: "
            + conn.execute("SELECT version()").fetchone()[0].split(" on ")[0]
            + ", PostGIS "
            + conn.execute("SELECT postgis_lib_version()").fetchone()[0]
            + ", max_parallel_workers_per_gather="
            + conn.execute("SHOW max_parallel_workers_per_gather").fetchone()[0]
        )


@contextlib.contextmanager
def timer() -> Iterator[list[float]]:
    box: list[float] = []
    t0 = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - t0)


# ------------------------------------------------------------------ telemetry benchmarks (ingest, fan-out, rollup)
# Added for bench_ingest.py, bench_fanout.py and bench_rollup.py; nothing above changed.
SENSOR_EXTENT = (24.927, 60.160, 24.955, 60.1825)  # the demo districts' extent (14 grid cells)


def ensure_sensors(conn: object, source: str, prefix: str, n: int, kind: str = "traffic") -> list[tuple[int, str]]:
    """`n` active sensors of `kind` with codes `<prefix>-0001`... (source `source`), spread evenly over the
    demo districts (a low-discrepancy sequence, so the same points every run); created with one INSERT
    if missing. Returns [(id, code)] in code order."""
    x0, y0, x1, y1 = SENSOR_EXTENT
    conn.execute(  # type: ignore[attr-defined]
        """INSERT INTO sensors_sensor (source, source_id, tags, created_at, updated_at, code, name, kind, geom, active)
           SELECT %(source)s, %(prefix)s || '-' || lpad(i::text, 4, '0'), '{}'::jsonb, now(), now(),
                  %(prefix)s || '-' || lpad(i::text, 4, '0'), 'benchmark sensor ' || i, %(kind)s,
                  ST_SetSRID(ST_MakePoint(%(x0)s + %(dx)s * ((i * 0.6180339887) %% 1),
                                          %(y0)s + %(dy)s * ((i * 0.7548776662) %% 1)), 4326), true
           FROM generate_series(1, %(n)s) i
           ON CONFLICT DO NOTHING""",
        {"source": source, "prefix": prefix, "kind": kind, "n": n, "x0": x0, "y0": y0, "dx": x1 - x0, "dy": y1 - y0},
    )
    rows = conn.execute(  # type: ignore[attr-defined]
        "SELECT id, code FROM sensors_sensor WHERE source = %s AND code LIKE %s ORDER BY code LIMIT %s",
        [source, prefix + "-%", n],
    ).fetchall()
    return [(int(i), str(c)) for i, c in rows]


def raise_nofile(want: int) -> int:
    """Raise this process's open-files soft limit towards `want` (children inherit it); returns the limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Background:
    """A helper process (worker, publisher, client) started from the project root with its output in
    bench/out/<log_name>; stopped (SIGTERM, then SIGKILL after `grace` s) when the block ends."""

    def __init__(self, cmd: Sequence[str], *, env: dict[str, str] | None = None, log_name: str, grace: float = 15):
        self.cmd, self.env, self.grace = [str(c) for c in cmd], env, grace
        self.log_path = OUT / log_name
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Background:
        OUT.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "w")  # noqa: SIM115 - the child keeps it open
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        log.close()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float) -> int | None:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=self.grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def lat_text(latencies_ms: Sequence[float]) -> str:
    """'p50 12.3 ms, p99 45.6 ms (n=1,000)'."""
    return f"p50 {pct(latencies_ms, 50):.1f} ms, p99 {pct(latencies_ms, 99):.1f} ms (n={len(latencies_ms):,})"


def pg_size(conn: object, relation: str) -> int:
    """pg_total_relation_size in bytes (a partitioned table: the sum over its partitions)."""
    row = conn.execute(  # type: ignore[attr-defined]
        "SELECT CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0)"
        " FROM pg_partition_tree(c.oid) t) ELSE pg_total_relation_size(c.oid) END"
        " FROM pg_class c WHERE c.oid = %s::regclass",
        [relation],
    ).fetchone()
    return int(row[0])


def load_text() -> str:
    """The machine's load averages: other work competing for the 2 cores shows here."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def isolate_redis(name: str) -> str:
    """Give this benchmark's processes (this one and every child started after this) their own Redis
    channel-layer and cache prefixes: the stack's Redis is shared with dev servers, tests and demo feeds,
    whose websocket groups and stream sequence numbers must not mix with ours (either way)."""
    prefix = f"bench-{name}-{os.getpid()}"
    os.environ["CITYTWIN_CHANNEL_PREFIX"] = prefix
    os.environ["CITYTWIN_CACHE_PREFIX"] = prefix
    return prefix


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (/proc/<pid>/stat), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    if sys.argv[1:] == ["prepare"]:
        prepare_bench_db()
    else:
        raise SystemExit("usage: python bench/benchlib.py prepare")


class StageTimer:
    """Wall time per named stage (wrap a function with timed()) and per SQL statement (sql_timer is a
    django.db.connection.execute_wrapper), for the benchmarks' "where the time goes" sections."""

    def __init__(self, sql_width: int = 100) -> None:
        self.stages: dict[str, float] = {}
        self.statements: list[tuple[str, float]] = []
        self.sql_width = sql_width

    def timed(self, name: str, fn):  # noqa: ANN001, ANN201
        def wrapper(*a, **k):  # noqa: ANN002, ANN003, ANN202
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - t0

        return wrapper

    def sql_timer(self, execute, sql, params, many, context):  # noqa: ANN001, ANN201
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((" ".join(sql.split())[: self.sql_width], time.perf_counter() - t0))
