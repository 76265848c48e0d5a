"""The peers bench_ogc.py measures our /ogc/ items against, each installed and served apart from the product.

- pygeoapi with its PostgreSQL provider (SQLAlchemy + GeoAlchemy2 read the rows, shapely and pyproj build
  the GeoJSON in Python), in a venv of its own (var/bench-venv-pygeoapi, created here when missing), from a
  config generated under var/bench-ogc/, served by its Starlette app under uvicorn.
- django-gisserver (WFS 2.0 only: it has no OGC API - Features) over the same Django models and querysets,
  mounted at /wfs/ by the tiny site in bench/ogc_gisserver_site/ next to the product's own URLs; the
  library is installed with `pip install --target var/bench-gisserver-lib` (the product's venv is not
  changed) and the product's uvicorn serves it with that folder on PYTHONPATH.

Each peer reports why it is unavailable instead of failing the run; bench_ogc.py prints that and goes on."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import benchlib as bl

WORK = bl.ROOT / "var" / "bench-ogc"
PYGEOAPI_VENV = bl.ROOT / "var" / "bench-venv-pygeoapi"
# The newest pygeoapi the registry offers for Python 3.11 (0.22+ need a newer Python); the rest as resolved.
PYGEOAPI_PACKAGES = ("pygeoapi==0.21.0", "psycopg2-binary", "SQLAlchemy", "GeoAlchemy2", "starlette", "uvicorn")
GISSERVER_LIB = bl.ROOT / "var" / "bench-gisserver-lib"
# django-gisserver's own requirements that the product's venv lacks (it has Django and pyproj).
GISSERVER_PACKAGES = ("django-gisserver==2.5.0", "defusedxml", "lru-dict", "orjson")
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"


class PeerUnavailable(Exception):
    """The peer could not be installed, configured or started; the message says what failed."""


def _pip(cmd: list[str], what: str) -> None:
    print("  $ " + bl.shell_line(cmd))
    proc = subprocess.run(cmd, cwd=bl.ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
        raise PeerUnavailable(f"{what} failed ({proc.returncode}): {tail}")


def _wait_http(port: int, path: str, proc: bl.Background, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not proc.alive():
            raise PeerUnavailable(f"the server exited; last lines of {proc.log_path}:\n{proc.log_tail()}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, _ = bl.get_once(port, path)
            if status == 200:
                return
        time.sleep(0.3)
    raise PeerUnavailable(f"no answer from {path} within {seconds:.0f} s; see {proc.log_path}")


# ---------------------------------------------------------------------------------------------- pygeoapi
def ensure_pygeoapi_venv() -> Path:
    """The bench-only venv's bin folder, with pygeoapi and its PostgreSQL provider's needs installed."""
    bin_dir = PYGEOAPI_VENV / "bin"
    probe = [str(bin_dir / "python"), "-c", "import pygeoapi.provider.sql, starlette, uvicorn, geoalchemy2, psycopg2"]
    if (bin_dir / "python").exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return bin_dir
    print(f"Creating the bench-only venv {bl.shell_line([PYGEOAPI_VENV])} (never the product's):")
    _pip(["python3", "-m", "venv", str(PYGEOAPI_VENV)], "python3 -m venv")
    _pip([str(bin_dir / "pip"), "install", "-q", *PYGEOAPI_PACKAGES], "pip install pygeoapi")
    if subprocess.run(probe, capture_output=True).returncode != 0:
        raise PeerUnavailable("pygeoapi installed but its PostgreSQL provider does not import")
    return bin_dir


def pygeoapi_config(port: int, tables: dict[str, tuple[str, list[str]]], extent: list[float], metric: int) -> dict:
    """pygeoapi's configuration: one collection per {id: (table, columns)}, id field `id`, geometry `geom`,
    the same CRS list as ours, page size up to 10000 as ours."""
    pg = bl.PgTarget.from_url(bl.bench_database_url())
    data = {"host": pg.host, "port": pg.port, "dbname": pg.dbname, "user": pg.user, "search_path": ["public"]}
    if pg.password:
        data["password"] = pg.password
    crs_list = [CRS84, EPSG.format(4326), EPSG.format(3857), EPSG.format(metric)]
    contact = dict.fromkeys(("name", "position", "address", "city", "country", "email", "url"), "bench")
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": f"http://127.0.0.1:{port}",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "limits": {"default_items": 10, "max_items": 10000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OpenStreetMap"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "CityTwin bench peer",
                "description": "pygeoapi over the benchmark database",
                "keywords": ["bench"],
                "keywords_type": "theme",
                "terms_of_service": "none",
                "url": "http://127.0.0.1",
            },
            "license": {"name": "ODbL", "url": "https://opendatacommons.org/licenses/odbl/"},
            "provider": {"name": "bench", "url": "http://127.0.0.1"},
            "contact": {**contact, "role": "pointOfContact"},
        },
        "resources": {
            cid: {
                "type": "collection",
                "title": cid,
                "description": f"{table} from the benchmark database",
                "keywords": [cid],
                "extents": {"spatial": {"bbox": extent, "crs": CRS84}},
                "providers": [
                    {
                        "type": "feature",
                        "name": "PostgreSQL",
                        "data": data,
                        "id_field": "id",
                        "table": table,
                        "geom_field": "geom",
                        "properties": columns,
                        "storage_crs": CRS84,
                        "crs": crs_list,
                    }
                ],
            }
            for cid, (table, columns) in tables.items()
        },
    }


@contextlib.contextmanager
def pygeoapi_server(tables: dict[str, tuple[str, list[str]]], extent: list[float], metric: int):  # noqa: ANN201
    """Yields the port pygeoapi answers on (config written as JSON, which is YAML, to var/bench-ogc/)."""
    bin_dir = ensure_pygeoapi_venv()
    version = subprocess.run(
        [str(bin_dir / "python"), "-c", "import pygeoapi; print(pygeoapi.__version__)"], capture_output=True, text=True
    ).stdout.strip()
    WORK.mkdir(parents=True, exist_ok=True)
    port = bl.free_port()
    config, openapi = WORK / "pygeoapi-config.yml", WORK / "pygeoapi-openapi.yml"
    config.write_text(json.dumps(pygeoapi_config(port, tables, extent, metric), indent=1))
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    env.pop("PYTHONPATH", None)
    if pg_password := bl.PgTarget.from_url(bl.bench_database_url()).password:
        env["PGPASSWORD"] = pg_password
    _pip([str(bin_dir / "pygeoapi"), "openapi", "generate", str(config), "--output-file", str(openapi)], "openapi")
    cmd = [str(bin_dir / "uvicorn"), "pygeoapi.starlette_app:APP", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", "1", "--log-level", "warning"]
    print(f"  $ PYGEOAPI_CONFIG={config.relative_to(bl.ROOT)} PYGEOAPI_OPENAPI={openapi.relative_to(bl.ROOT)} "
          + bl.shell_line(cmd) + "   # log: bench/out/bench_ogc_pygeoapi.log")  # fmt: skip
    with bl.Background(cmd, env=env, log_name="bench_ogc_pygeoapi.log") as proc:
        _wait_http(port, "/collections?f=json", proc)
        print(f"  pygeoapi {version} pid {proc.proc.pid if proc.proc else '?'} ready on 127.0.0.1:{port}")
        yield port


# -------------------------------------------------------------------------------------------- gisserver
def ensure_gisserver_lib() -> None:
    probe = [bl.PYTHON, "-c", "import gisserver, orjson, lru, defusedxml"]
    env = {**os.environ, "PYTHONPATH": str(GISSERVER_LIB)}
    if GISSERVER_LIB.exists() and subprocess.run(probe, env=env, capture_output=True).returncode == 0:
        return
    print(f"Installing django-gisserver into {bl.shell_line([GISSERVER_LIB])} (the product's venv untouched):")
    target = ["--target", str(GISSERVER_LIB), "--no-deps", "--upgrade"]
    _pip([bl.PYTHON, "-m", "pip", "install", "-q", *target, *GISSERVER_PACKAGES], "pip install django-gisserver")
    if subprocess.run(probe, env=env, capture_output=True).returncode != 0:
        raise PeerUnavailable("django-gisserver installed but does not import")


@contextlib.contextmanager
def gisserver_server():  # noqa: ANN201
    """Yields the port of the product's uvicorn serving bench/ogc_gisserver_site (our URLs plus /wfs/)."""
    ensure_gisserver_lib()
    server = bl.Server("bench_ogc_gisserver.log")
    server.env["DJANGO_SETTINGS_MODULE"] = "ogc_gisserver_site.settings"
    server.env["PYTHONPATH"] = os.pathsep.join([str(bl.ROOT / "bench"), str(GISSERVER_LIB), str(bl.ROOT)])
    print(f"  (PYTHONPATH=bench:{bl.shell_line([GISSERVER_LIB])}:.)")
    try:
        server.__enter__()
    except SystemExit as exc:
        raise PeerUnavailable(f"{exc}") from exc
    try:
        yield server.port
    finally:
        server.stop()


def wfs_path(type_name: str, count: int, extra: str = "") -> str:
    return (
        f"/wfs/?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={type_name}&COUNT={count}"
        f"&OUTPUTFORMAT=geojson{extra}"
    )


if __name__ == "__main__":
    sys.exit("imported by bench_ogc.py")
