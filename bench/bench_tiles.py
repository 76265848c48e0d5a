"""Vector tiles: GET /tiles/<layer>/<z>/<x>/<y>.pbf through uvicorn vs the same ST_AsMVT SQL in pgbench, and
vs tipg serving the same table and tile.

Baseline: the SQL that apps.tiles.layers.LAYERS[layer].sql() produces, with the view's parameters filled
in, run by `pgbench -n -f tile.sql -c 1 -T 5` (one client, back to back, prepared nothing).
Peer: tipg (FastAPI + asyncpg) in the benchmark's own venv (bench/peers.py), on the same database, at
/collections/public.<table>/tiles/WebMercatorQuad/{z}/{x}/{y}.
Ours: the real ASGI server (uvicorn, 1 worker, DEBUG off) with the product's defaults (tile cache on), with
the tile cache off, and (unless --no-django) with the lean tile path off, i.e. through Django as before.
Each is asked for the same tile over one keep-alive connection for the same time, by a single Python client
(benchlib.RawHTTP: a raw-socket keep-alive client). Rounds alternate raw, ours and the peer; the figures are medians over the rounds.

    .venv/bin/python bench/bench_tiles.py [--rounds 3] [--seconds 5] [--no-django]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time

import benchlib as bl
import peers

EXTENT_LON = (24.9352, 24.9534)  # the demo city's data extent
EXTENT_LAT = (60.1642, 60.1791)
CASES = [("buildings", 14), ("buildings", 15), ("buildings", 16), ("buildings", 17), ("roads", 15)]


def slippy(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The standard OSM slippy-map tile holding (lon, lat) at zoom z."""
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--no-django", dest="django", action="store_false", help="skip the Django-only server")
    args = ap.parse_args()

    bl.banner("bench_tiles", "vector tile endpoint vs the raw ST_AsMVT SQL in pgbench")
    bl.prepare_bench_db()
    bl.setup_django()
    import psycopg
    from django.contrib.auth.models import AnonymousUser

    from apps.tiles.layers import LAYERS

    lon = sum(EXTENT_LON) / 2
    lat = sum(EXTENT_LAT) / 2
    bl.OUT.mkdir(parents=True, exist_ok=True)
    conn = bl.connect(autocommit=True)
    cases = []
    print(f"\nTiles: the ones holding the centre of the data (lon {lon:.5f}, lat {lat:.5f}), slippy-map x/y.")
    for layer, z in CASES:
        x, y = slippy(lon, lat, z)
        spec = LAYERS[layer]
        params = spec.params(z=z, x=x, y=y, user=AnonymousUser())
        # Django (psycopg 3, client-side binding) sends exactly this text to the server.
        filled = psycopg.ClientCursor(conn).mogrify(spec.sql(), params).strip()
        sql_file = bl.OUT / f"tile_{layer}_{z}_{x}_{y}.sql"
        sql_file.write_text(filled + ";\n")
        tile = bytes(conn.execute(filled).fetchone()[0] or b"")
        features = conn.execute(
            f"SELECT count(*) FROM {spec.table} t WHERE t.geom && "
            "ST_Transform(ST_TileEnvelope(%s, %s, %s, margin => %s), 4326)",
            [z, x, y, 64 / 4096],
        ).fetchone()[0]
        cases.append(
            {
                "layer": layer,
                "z": z,
                "x": x,
                "y": y,
                "sql_file": sql_file,
                "table": spec.table,
                "tile": tile,
                "features": features,
                "path": f"/tiles/{layer}/{z}/{x}/{y}.pbf",
            }
        )
        print(
            f"  {layer} z{z}/{x}/{y}: {features} features in the tile's bbox, tile {len(tile):,} bytes; SQL in "
            f"{sql_file.relative_to(bl.ROOT)}:"
        )
        print("    " + filled.replace("\n", "\n    "))

    results = []
    print("\nStarting the servers:")
    servers = {
        "on": bl.Server("bench_tiles_server.log"),
        "off": bl.Server("bench_tiles_nocache.log", env={"CITYTWIN_TILE_CACHE": "false"}),
        "tipg": peers.Tipg("bench_tiles_tipg.log"),
    }
    if args.django:
        servers["django"] = bl.Server("bench_tiles_django.log", env={"CITYTWIN_TILE_LEAN": "false"})
    with contextlib.ExitStack() as stack:
        for server in servers.values():
            stack.enter_context(server)
        for case in cases:
            results.append(run_case(case, servers, args))
    conn.close()
    print_summary(results, list(servers))


def run_case(case: dict, servers: dict, args: argparse.Namespace) -> dict:
    bl.header(
        f"{case['layer']} z{case['z']}/{case['x']}/{case['y']}  ({case['features']} features, {len(case['tile']):,} bytes)"
    )
    paths = {name: case["path"] for name in servers}
    paths["tipg"] = peers.Tipg.tile_path(case["table"], case["z"], case["x"], case["y"])
    for name, server in servers.items():
        status, body = bl.get_once(server.port, paths[name])
        if name == "tipg":
            print(f"  tipg's tile: HTTP {status}, {len(body):,} bytes (its own columns and encoding)")
            continue
        same = (
            "identical" if status == 200 and body == case["tile"] else f"DIFFERENT (HTTP {status}, {len(body)} bytes)"
        )
        print(f"  {LABELS[name]}: the endpoint's tile vs the SQL's: {same}")
    print(f"  baseline: {bl.shell_line(bl.pgbench_command(case['sql_file'], args.seconds))}   (plus -l for latencies)")
    for name, server in servers.items():
        print(f"  {LABELS[name]}: GET http://127.0.0.1:{server.port}{paths[name]}")
    print(f"  each: one keep-alive connection (benchlib.RawHTTP), back to back for {args.seconds} s")
    for name, server in servers.items():
        bl.http_loop(server.port, paths[name], 1.0)  # warm-up (connection, caches, pools), not counted
    samples: dict[str, list[bl.Sample]] = {"raw": [], **{name: [] for name in servers}}
    for r in range(1, args.rounds + 1):
        a, _ = bl.pgbench(case["sql_file"], args.seconds)
        samples["raw"].append(a)
        line = f"  round {r}: raw {a.per_s:7.1f}/s p50 {bl.pct(a.latencies_ms, 50):5.2f} ms"
        for name, server in servers.items():
            time.sleep(0.3)
            b = bl.http_loop(server.port, paths[name], args.seconds)
            samples[name].append(b)
            line += f" | {name} {b.per_s:7.1f}/s p50 {bl.pct(b.latencies_ms, 50):5.2f} ms"
        print(line)
    res = {"name": f"{case['layer']} z{case['z']}/{case['x']}/{case['y']}", "features": case["features"]}
    res["bytes"] = len(case["tile"])
    for name, runs in samples.items():
        res[name] = bl.median([s.per_s for s in runs])
        res[name + "_p50"] = bl.pct([v for s in runs for v in s.latencies_ms], 50)
    return res


LABELS = {
    "on": "ours, cache on (defaults)",
    "off": "ours, cache off (CITYTWIN_TILE_CACHE=false)",
    "tipg": "tipg",
    "django": "ours through Django only (CITYTWIN_TILE_LEAN=false)",
}
GOALS = [("on", "raw", 2.0), ("on", "tipg", 3.0), ("off", "raw", 0.8)]


def print_summary(results: list[dict], names: list[str]) -> None:
    bl.header("bench_tiles summary (tiles/s: medians over rounds; p50 over all requests of all rounds)")
    cols = ["raw", *names]
    print(f"{'tile':<24}{'features':>9}{'bytes':>8}" + "".join(f"{c + '/s':>10}{'p50ms':>7}" for c in cols))
    for r in results:
        print(
            f"{r['name']:<24}{r['features']:>9}{r['bytes']:>8,}"
            + "".join(f"{r[c]:>10.1f}{r[c + '_p50']:>7.2f}" for c in cols)
        )
    print()
    extra = [("django", "raw", 0.0)] if "django" in names else []
    for r in results:
        parts = []
        for a, b, goal in GOALS + extra:
            ratio = r[a] / r[b] if r[b] else float("nan")
            verdict = f" (goal {goal}x: {'met' if ratio >= goal else 'MISSED'})" if goal else ""
            parts.append(f"{a}/{b} {ratio:5.2f}x{verdict}")
        print(f"{r['name']:<24} " + "; ".join(parts))
    print(
        "raw: pgbench -c 1 on the layer's SQL; on/off: the product with the tile cache on (defaults) and off; tipg:"
        " the peer on the same table and tile; django: the product with the lean tile path off (the old path)."
    )


if __name__ == "__main__":
    main()
