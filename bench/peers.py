"""Peer servers the benchmarks compare against, each in the benchmark's OWN venv (var/bench-venv), never the
product's: tipg (FastAPI + asyncpg, vector tiles straight from a PostGIS table).

    .venv/bin/python bench/peers.py       # create var/bench-venv and install tipg + uvicorn if missing

The venv is created once with `python3 -m venv var/bench-venv && var/bench-venv/bin/pip install tipg uvicorn`
(from PyPI); later runs reuse it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import benchlib as bl

BENCH_VENV = bl.ROOT / "var" / "bench-venv"


def ensure_tipg_venv() -> Path:
    """var/bench-venv with tipg and uvicorn; created and filled (pip, PyPI) when missing."""
    uvicorn = BENCH_VENV / "bin" / "uvicorn"
    if uvicorn.exists() and (BENCH_VENV / "bin" / "python").exists():
        probe = subprocess.run(  # noqa: S603
            [str(BENCH_VENV / "bin" / "python"), "-c", "import tipg"], capture_output=True
        )
        if probe.returncode == 0:
            return BENCH_VENV
    print(f"  creating the peer's own venv {BENCH_VENV.relative_to(bl.ROOT)} (tipg, uvicorn from PyPI)")
    bl.run(["python3", "-m", "venv", str(BENCH_VENV)])
    bl.run([str(BENCH_VENV / "bin" / "pip"), "install", "-q", "tipg", "uvicorn"])
    return BENCH_VENV


def tipg_version() -> str:
    out = subprocess.run(  # noqa: S603
        [str(BENCH_VENV / "bin" / "python"), "-c", "import tipg; print(tipg.__version__)"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() or "?"


class Tipg:
    """`DATABASE_URL=postgresql://... TIPG_DB_SCHEMAS='["public"]' uvicorn tipg.main:app` on a free port,
    against the benchmark database; tiles at /collections/public.<table>/tiles/WebMercatorQuad/{z}/{x}/{y}."""

    def __init__(self, log_name: str = "tipg.log") -> None:
        ensure_tipg_venv()
        self.port = bl.free_port()
        parts = urlsplit(bl.bench_database_url())
        url = urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))
        self.env = dict(os.environ) | {"DATABASE_URL": url, "TIPG_DB_SCHEMAS": '["public"]'}
        self.cmd = [str(BENCH_VENV / "bin" / "uvicorn"), "tipg.main:app", "--host", "127.0.0.1"]
        self.cmd += ["--port", str(self.port), "--workers", "1", "--log-level", "warning"]
        self.log_path = bl.OUT / log_name
        self.proc: subprocess.Popen | None = None

    def command_line(self) -> str:
        return f"DATABASE_URL={self.env['DATABASE_URL']} TIPG_DB_SCHEMAS='[\"public\"]' " + bl.shell_line(self.cmd)

    def __enter__(self) -> Tipg:
        bl.OUT.mkdir(parents=True, exist_ok=True)
        print("  $ " + self.command_line() + f"   # log: {self.log_path.relative_to(bl.ROOT)}")
        log = open(self.log_path, "w")  # noqa: SIM115 - the child keeps it open
        self.proc = subprocess.Popen(  # noqa: S603
            self.cmd, cwd=bl.ROOT / "var", env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        try:
            bl.wait_until_serving(self.proc, self.port, "/collections", timeout=90, what="tipg", log_path=self.log_path)
        except SystemExit:
            self.stop()
            raise
        print(f"  tipg {tipg_version()} pid {self.proc.pid} ready on 127.0.0.1:{self.port}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        bl.stop_process(self.proc)

    @staticmethod
    def tile_path(table: str, z: int, x: int, y: int) -> str:
        return f"/collections/public.{table}/tiles/WebMercatorQuad/{z}/{x}/{y}"


if __name__ == "__main__":
    sys.path.insert(0, str(bl.ROOT / "bench"))
    print(ensure_tipg_venv())
