"""The public portal: GET / (the front page) and GET /api/public/sensors/ (the open sensors' latest values)
through uvicorn, against the raw SQL that computes the same data, uncached.

Baselines, over one open psycopg connection, execute + fetch, back to back:
- sensors: the endpoint's own statement (apps.portal.selectors._SENSORS_SQL: the FeatureCollection's features
  built in PostGIS) for 200 traffic and 100 air-quality sensors with latest values;
- front page: one statement with the figures the page shows (the buildings' extent, five counts, the published
  comparisons), i.e. what the page costs the database when nothing is cached.
Ours: the real ASGI server (1 worker, DEBUG off), one keep-alive connection, anonymous, the whole body read;
the portal caches its figures (Redis) for CITYTWIN_PORTAL_*_MAX_AGE_S, so most requests are cache hits, as in
production. Rounds alternate baseline and ours; medians.

    .venv/bin/python bench/bench_portal.py [--rounds 3] [--seconds 5]
"""

from __future__ import annotations

import argparse
import time

import benchlib as bl

FIGURES_SQL = """
SELECT json_build_object(
  'extent', (SELECT ST_Extent(geom)::text FROM buildings_building),
  'buildings', (SELECT count(*) FROM buildings_building),
  'roads', (SELECT count(*) FROM roads_roadsegment),
  'assets', (SELECT count(*) FROM assets_utilityasset WHERE kind = ANY(%(kinds)s)),
  'districts', (SELECT count(*) FROM districts_district),
  'sensors', (SELECT count(*) FROM sensors_sensor WHERE active AND kind IN ('traffic', 'air_quality')),
  'published', (SELECT coalesce(json_agg(p.title), '[]') FROM (SELECT title FROM simulation_publishedcomparison
                ORDER BY published_at DESC LIMIT 12) p))::text
"""


def timed_sql(conn: object, sql: str, params: dict, seconds: float) -> bl.Sample:
    lat: list[float] = []
    nbytes = 0
    clock = time.perf_counter
    start = now = clock()
    while now < start + seconds:
        t0 = clock()
        text = conn.execute(sql, params).fetchone()[0]  # type: ignore[attr-defined]
        now = clock()
        lat.append((now - t0) * 1000)
        nbytes += len(text.encode())
    return bl.Sample(ops=len(lat), seconds=now - start, latencies_ms=lat, nbytes=nbytes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()

    bl.banner("bench_portal", "the public front page and open-sensor endpoint vs the raw SQL of the same data")
    bl.prepare_bench_db()
    bl.setup_django()
    from apps.assets.conf import public_asset_kinds
    from apps.portal.selectors import _SENSORS_SQL, public_kinds
    from apps.telemetry.conf import stale_after_s

    conn = bl.connect(autocommit=True)
    sensors = bl.ensure_sensors(conn, "bench_portal", "portal-t", 200, "traffic")
    sensors += bl.ensure_sensors(conn, "bench_portal", "portal-a", 100, "air_quality")
    conn.execute(
        """INSERT INTO telemetry_latest (sensor_id, property, time, value, received_at)
           SELECT s.id, p.name, now(), random() * 50, now() FROM sensors_sensor s
           JOIN (VALUES ('traffic', 'mean_speed_kmh'), ('traffic', 'vehicle_count'), ('air_quality', 'pm2_5'),
                        ('air_quality', 'no2')) p(kind, name) ON p.kind = s.kind
           WHERE s.source = 'bench_portal'
           ON CONFLICT (sensor_id, property) DO UPDATE SET time = now(), received_at = now()"""
    )
    print(f"\n{len(sensors)} open sensors with latest values (source bench_portal)")
    cases = [
        ("sensors", "/api/public/sensors/", _SENSORS_SQL, {"kinds": public_kinds(), "stale": stale_after_s()}),
        ("front page", "/", FIGURES_SQL, {"kinds": sorted(public_asset_kinds())}),
    ]
    results = []
    with bl.Server("bench_portal_server.log") as server:
        for name, path, sql, params in cases:
            bl.header(f"{name}: GET {path} vs its SQL")
            status, body = bl.get_once(server.port, path)
            print(f"  GET {path}: HTTP {status}, {len(body):,} bytes")
            timed_sql(conn, sql, params, 1.0)
            bl.http_loop(server.port, path, 1.0)
            base, ours = [], []
            for r in range(1, args.rounds + 1):
                a = timed_sql(conn, sql, params, args.seconds)
                b = bl.http_loop(server.port, path, args.seconds)
                base.append(a)
                ours.append(b)
                print(
                    f"  round {r}: baseline {a.per_s:8.1f} req/s p50 {bl.pct(a.latencies_ms, 50):6.2f} ms"
                    f" | ours {b.per_s:8.1f} req/s p50 {bl.pct(b.latencies_ms, 50):6.2f} ms p99 {bl.pct(b.latencies_ms, 99):6.2f} ms"
                )
            ours_lat = [v for s in ours for v in s.latencies_ms]
            base_lat = [v for s in base for v in s.latencies_ms]
            results.append((name, bl.median([s.per_s for s in base]), bl.median([s.per_s for s in ours]),
                            bl.pct(base_lat, 50), bl.pct(base_lat, 99), bl.pct(ours_lat, 50), bl.pct(ours_lat, 99)))  # fmt: skip
    conn.close()
    bl.header("bench_portal summary (medians over rounds; latencies over all requests)")
    print(
        f"{'case':<12}{'base req/s':>12}{'ours req/s':>12}{'base p50':>10}{'base p99':>10}{'ours p50':>10}{'ours p99':>10}"
    )
    for name, b, o, bp50, bp99, p50, p99 in results:
        print(f"{name:<12}{b:>12.1f}{o:>12.1f}{bp50:>8.2f}ms{bp99:>8.2f}ms{p50:>8.2f}ms{p99:>8.2f}ms")
    for name, b, o, *_ in results:
        print(bl.ratio_line(name, o, b))


if __name__ == "__main__":
    main()
