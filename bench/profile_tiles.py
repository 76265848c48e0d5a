"""Where a cached tile's time goes: the HTTP floor, the whole Django path, and its parts.

Measures, for one cached tile (buildings z16 at the data's centre, the bench_tiles case), against the
benchmark database (see benchlib):
1. the floor: uvicorn (as bin/run starts it) serving the same bytes from a dict with a 10-line ASGI app,
   asked by the same single keep-alive client loop as bench_tiles (benchlib.RawHTTP);
2. the product over HTTP: uvicorn city.asgi:application (as bench_tiles runs it), with the lean tile path
   (the default) and without it (CITYTWIN_TILE_LEAN=false: through Django, as before);
3. in process (no HTTP): the lean path (city.asgi.application) and the Django path behind it
   (city.asgi.http_application) called with a synthetic scope, per request;
4. in process, each piece alone: Django's middleware chain (cProfile of BaseHandler.get_response on the
   main thread, the functions that matter by inclusive time), the Redis round trips of data_version() and
   get_tile(), the URL resolve, the ETag hash, the response object.

    .venv/bin/python bench/profile_tiles.py [--seconds 3] [--n 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import benchlib as bl

TILE_ENV = "CITYTWIN_FLOOR_TILE"


async def floor_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The least an ASGI app can do per tile request: look the bytes up and send them."""
    if scope["type"] != "http":
        return
    body = _FLOOR.get(scope["path"], b"")
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/vnd.mapbox-vector-tile"), (b"etag", b'"x"')],
        }
    )
    await send({"type": "http.response.body", "body": body})


_FLOOR: dict[str, bytes] = {}
if os.environ.get(TILE_ENV):
    path, _, file = os.environ[TILE_ENV].partition("=")
    with open(file, "rb") as fh:
        _FLOOR[path] = fh.read()


def per_call_us(fn: Callable[[], object], n: int) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    bl.banner("profile_tiles", "where a cached tile's time goes")
    bl.prepare_bench_db()
    bl.setup_django()
    from bench_tiles import EXTENT_LAT, EXTENT_LON, slippy

    x, y = slippy(sum(EXTENT_LON) / 2, sum(EXTENT_LAT) / 2, 16)
    path = f"/tiles/buildings/16/{x}/{y}.pbf"

    bl.header(f"1-2. over HTTP (one keep-alive RawHTTP loop, {args.seconds} s each): {path}")
    with bl.Server("profile_tiles_server.log") as server:
        status, tile = bl.get_once(server.port, path)
        assert status == 200, status
        bl.http_loop(server.port, path, 1.0)
        product = bl.http_loop(server.port, path, args.seconds)
    with bl.Server("profile_tiles_django.log", env={"CITYTWIN_TILE_LEAN": "false"}) as server:
        bl.http_loop(server.port, path, 1.0)
        django_only = bl.http_loop(server.port, path, args.seconds)
    tile_file = bl.OUT / "profile_tile.pbf"
    tile_file.write_bytes(tile)
    port = bl.free_port()
    env = dict(os.environ) | {TILE_ENV: f"{path}={tile_file}"}
    cmd = [str(bl.VENV_BIN / "uvicorn"), "profile_tiles:floor_app", "--app-dir", "bench", "--port", str(port)]
    cmd += ["--log-level", "warning"]
    print("  floor: $ " + bl.shell_line(cmd))
    proc = subprocess.Popen(cmd, cwd=bl.ROOT, env=env)  # noqa: S603
    try:
        for _ in range(100):
            try:
                bl.get_once(port, path)
                break
            except OSError:
                time.sleep(0.1)
        bl.http_loop(port, path, 1.0)
        floor = bl.http_loop(port, path, args.seconds)
    finally:
        proc.terminate()
        proc.wait()
    for name, s in (
        ("floor (bytes from a dict)", floor),
        ("product, lean path, cache hit", product),
        ("product through Django, cache hit", django_only),
    ):
        print(f"  {name:<36} {s.per_s:8.0f} tiles/s  p50 {bl.pct(s.latencies_ms, 50) * 1000:6.0f} us")

    in_process(path, args.n)


def in_process(path: str, n: int) -> None:
    from django.core.handlers.asgi import ASGIRequest
    from django.core.handlers.base import BaseHandler
    from django.urls import resolve
    from django.utils.cache import patch_cache_control

    import city.asgi
    from apps.core.data_version import data_version
    from apps.tiles import cache as tile_cache

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "scheme": "http",
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
    }

    async def one() -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:  # Django listens for a disconnect until the response is sent
                await asyncio.Event().wait()
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            return None

        await app(dict(scope), receive, send)

    app: Any = city.asgi.http_application

    async def many() -> float:
        await one()
        t0 = time.perf_counter()
        for _ in range(n):
            await one()
        return (time.perf_counter() - t0) / n * 1e6

    bl.header("3-4. in process, per request (microseconds)")
    asgi_us = asyncio.run(many())
    app = city.asgi.application
    lean_us = asyncio.run(many())
    handler = BaseHandler()
    handler.load_middleware()

    def sync_chain() -> object:
        return handler.get_response(ASGIRequest(dict(scope), io.BytesIO()))

    version = data_version()
    key = tile_cache.tile_key(version, "buildings", "public", *map(int, path[len("/tiles/buildings/") : -4].split("/")))
    data = tile_cache.get_tile(key) or b""

    def response() -> object:
        from django.http import HttpResponse

        r = HttpResponse(data, content_type="application/vnd.mapbox-vector-tile")
        r["Content-Length"] = str(len(data))
        patch_cache_control(r, public=True, max_age=300)
        return r

    import hashlib

    rows = [
        ("the lean path (city.asgi.application), LRU hit", lean_us),
        ("Django's ASGI handler (thread hops, middleware, view, 2 Redis GETs)", asgi_us),
        ("  the sync middleware chain + view alone (BaseHandler.get_response)", per_call_us(sync_chain, n)),
        ("  data_version(): one Redis GET", per_call_us(data_version, n)),
        ("  get_tile(): one Redis GET + unpickle", per_call_us(lambda: tile_cache.get_tile(key), n)),
        ("  URL resolve", per_call_us(lambda: resolve(path), n)),
        ("  ETag: blake2b of the tile", per_call_us(lambda: hashlib.blake2b(data, digest_size=12).hexdigest(), n)),
        ("  HttpResponse + headers", per_call_us(response, n)),
    ]
    for label, us in rows:
        print(f"  {label:<75} {us:8.1f} us")

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        sync_chain()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).sort_stats("cumulative")
    stats.print_stats(
        r"middleware|views.py:.*\(tile\)|cache|data_version|resolve|session|auth|csrf|response|blake2b|redis"
    )
    print(f"\n  cProfile of the sync chain, {n} requests (inclusive times; the profiler inflates them ~2x):")
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if "ncalls" in ln)
    for ln in lines[start : start + 40]:
        print("   " + ln)


if __name__ == "__main__":
    sys.path.insert(0, str(bl.ROOT / "bench"))
    main()
