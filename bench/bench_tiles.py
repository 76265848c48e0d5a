"""Vector tiles: GET /tiles/<layer>/<z>/<x>/<y>.pbf through uvicorn vs the same ST_AsMVT SQL in pgbench.

Baseline: the SQL that apps.tiles.layers.LAYERS[layer].sql() produces, with the view's parameters filled
in, run by `pgbench -n -f tile.sql -c 1 -T 5` (one client, back to back, prepared nothing).
Ours: the real ASGI server (uvicorn, 1 worker, DEBUG off) asked for the same tile over one keep-alive
connection for the same time, by a single Python client (http.client).
Rounds alternate baseline and ours; the figures are medians over the rounds.

    .venv/bin/python bench/bench_tiles.py [--rounds 3] [--seconds 5]
"""

from __future__ import annotations

import argparse
import math
import time

import benchlib as bl

EXTENT_LON = (24.9352, 24.9534)  # the demo city's data extent
EXTENT_LAT = (60.1642, 60.1791)
CASES = [("buildings", 15), ("buildings", 16), ("roads", 15)]


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
    print("\nStarting the server:")
    with bl.Server("bench_tiles_server.log") as server:
        for case in cases:
            bl.header(
                f"{case['layer']} z{case['z']}/{case['x']}/{case['y']}  ({case['features']} features, "
                f"{len(case['tile']):,} bytes)"
            )
            status, body = bl.get_once(server.port, case["path"])
            same = (
                "identical"
                if status == 200 and body == case["tile"]
                else f"DIFFERENT (HTTP {status}, {len(body)} bytes)"
            )
            print(f"  the endpoint's tile vs the SQL's: {same}")
            print(
                f"  baseline: {bl.shell_line(bl.pgbench_command(case['sql_file'], args.seconds))}   (plus -l for latencies)"
            )
            print(
                f"  ours:     GET http://127.0.0.1:{server.port}{case['path']} on one keep-alive connection (http.client),"
                f" back to back for {args.seconds} s"
            )
            bl.http_loop(server.port, case["path"], 1.0)  # warm-up (connection, caches), not counted
            base, ours = [], []
            sessions = 0
            for r in range(1, args.rounds + 1):
                a, _ = bl.pgbench(case["sql_file"], args.seconds)
                time.sleep(0.5)
                s0 = bl.db_sessions(conn)
                b = bl.http_loop(server.port, case["path"], args.seconds)
                time.sleep(0.5)  # backends report their session when they exit
                sessions += bl.db_sessions(conn) - s0
                base.append(a)
                ours.append(b)
                print(
                    f"  round {r}: baseline {a.per_s:8.1f} tiles/s (pgbench says tps={a.pgbench_tps:.1f}), "
                    f"p50 {bl.pct(a.latencies_ms, 50):6.2f} ms | ours {b.per_s:8.1f} tiles/s, "
                    f"p50 {bl.pct(b.latencies_ms, 50):6.2f} ms, p99 {bl.pct(b.latencies_ms, 99):6.2f} ms"
                )
            res = summarize(case, base, ours)
            res["sessions_per_req"] = sessions / max(1, sum(o.ops for o in ours))
            print(
                f"  PostgreSQL sessions opened while ours ran: {sessions} for {sum(o.ops for o in ours)} requests "
                f"({res['sessions_per_req']:.2f} per request; pgbench: 1 per run)"
            )
            results.append(res)
    conn.close()

    bl.header("bench_tiles summary (medians over rounds; latencies over all requests of all rounds)")
    print(
        f"{'tile':<24}{'features':>9}{'bytes':>9}{'baseline/s':>12}{'ours/s':>10}{'ours p50':>10}{'ours p99':>10}"
        f"{'base p50':>10}{'base p99':>10}{'ratio':>8}{'conn/req':>10}"
    )
    for r in results:
        print(
            f"{r['name']:<24}{r['features']:>9}{r['bytes']:>9,}{r['base']:>12.1f}{r['ours']:>10.1f}{r['p50']:>8.2f}ms"
            f"{r['p99']:>8.2f}ms{r['bp50']:>8.2f}ms{r['bp99']:>8.2f}ms{r['ratio']:>7.2f}x{r['sessions_per_req']:>10.2f}"
        )
    for r in results:
        print(bl.ratio_line(r["name"], r["ours"], r["base"]))
    print(
        "conn/req: new PostgreSQL sessions per HTTP request (pg_stat_database.sessions); each new session pays"
        " the backend start and PostGIS/PROJ initialisation that pgbench pays once."
    )


def summarize(case: dict, base: list[bl.Sample], ours: list[bl.Sample]) -> dict:
    base_rate = bl.median([s.per_s for s in base])
    ours_rate = bl.median([s.per_s for s in ours])
    ours_lat = [v for s in ours for v in s.latencies_ms]
    base_lat = [v for s in base for v in s.latencies_ms]
    return {
        "name": f"{case['layer']} z{case['z']}/{case['x']}/{case['y']}",
        "features": case["features"],
        "bytes": len(case["tile"]),
        "base": base_rate,
        "ours": ours_rate,
        "p50": bl.pct(ours_lat, 50),
        "p99": bl.pct(ours_lat, 99),
        "bp50": bl.pct(base_lat, 50),
        "bp99": bl.pct(base_lat, 99),
        "ratio": ours_rate / base_rate if base_rate else float("nan"),
    }


if __name__ == "__main__":
    main()
