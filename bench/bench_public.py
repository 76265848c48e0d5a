"""The public aggregates (the privacy module): GET /api/public/aggregates/ through uvicorn (cached, as
production serves a repeated query) and the privacy module's selector uncached (the suppression included),
against the raw SQL of the same aggregate: the energy meters' hourly totals per district over 24 hours,
a GROUP BY on the hourly rollups with the meters' districts found in PostGIS.

The demo sensors of the benchmark database (prefix bpub: ~350 meters on the demo city's buildings) get 48 h
of history once (apps.demo_feed.backfill). Rounds alternate baseline and ours; medians.

    .venv/bin/python bench/bench_public.py [--rounds 3] [--seconds 5]"""

from __future__ import annotations

import argparse
import os
import time
from datetime import timedelta

import benchlib as bl

PREFIX = "bpub"
HOURS = 48

RAW_SQL = """
SELECT d.id, r.bucket, count(*), sum(r.total)
FROM telemetry_rollup r
JOIN sensors_sensor s ON s.id = r.sensor_id
JOIN districts_district d ON ST_Covers(d.geom, s.geom)
WHERE r.resolution = '1h' AND r.property = 'energy_kwh' AND s.kind = 'energy' AND s.active
  AND r.bucket >= %(start)s AND r.bucket < %(end)s AND r.n > 0
GROUP BY 1, 2 ORDER BY 2, 1
"""


def ensure_history() -> tuple[object, object]:
    from django.utils import timezone

    from apps.demo_feed.backfill import backfill_demo_history
    from apps.demo_feed.sensors import create_demo_sensors
    from apps.sensors.models import Sensor
    from apps.simulation.sumo.network import build_network

    end = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    if not Sensor.objects.filter(code__startswith=f"{PREFIX}-", kind="energy").exists():
        create_demo_sensors(network=build_network(), prefix=PREFIX)
        stored = backfill_demo_history(end=end, hours=HOURS, prefix=PREFIX)
        print(f"  demo sensors {PREFIX}-*: {stored:,} readings over {HOURS} h written")
    meters = Sensor.objects.filter(code__startswith=f"{PREFIX}-", kind="energy").count()
    print(f"  {meters} energy meters under {PREFIX}-")
    return end - timedelta(hours=24), end


def timed(fn: object, seconds: float) -> bl.Sample:
    lat: list[float] = []
    clock = time.perf_counter
    start = now = clock()
    while now < start + seconds:
        t0 = clock()
        fn()  # type: ignore[operator]
        now = clock()
        lat.append((now - t0) * 1000)
    return bl.Sample(ops=len(lat), seconds=now - start, latencies_ms=lat, nbytes=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    bl.banner("bench_public", "the public aggregates (privacy module) vs the raw SQL of the same aggregate")
    bl.prepare_bench_db()
    os.environ["CITYTWIN_THROTTLE_ANON"] = "10000000/min"  # the benchmark is one client hammering one URL
    bl.setup_django()
    from django.test import override_settings

    from apps.privacy.selectors import public_aggregates

    start, end = ensure_history()
    conn = bl.connect(autocommit=True)
    params = {"start": start, "end": end}
    rows = conn.execute(RAW_SQL, params).fetchall()
    path = f"/api/public/aggregates/?dataset=energy&partition=district&start={start:%Y-%m-%dT%H:00:00Z}&end={end:%Y-%m-%dT%H:00:00Z}"

    def raw() -> None:
        conn.execute(RAW_SQL, params).fetchall()

    def uncached() -> None:
        with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}):
            public_aggregates(dataset="energy", partition="district", start=start, end=end)

    release = public_aggregates(dataset="energy", partition="district", start=start, end=end)
    shown = sum(1 for r in release.rows if not r.suppressed)
    print(
        f"  raw SQL: {len(rows)} district-hours; the release: {len(release.rows)} rows, {shown} shown, k = {release.k}"
    )
    results = []
    with bl.Server("bench_public_server.log") as server:
        status, body = bl.get_once(server.port, path)
        print(f"  GET {path}: HTTP {status}, {len(body):,} bytes")
        cases = [("selector, uncached", uncached), ("endpoint, cached", lambda: None)]
        for name, fn in cases:
            bl.header(f"{name} vs the raw SQL")
            base, ours = [], []
            for r in range(1, args.rounds + 1):
                a = timed(raw, args.seconds)
                b = (
                    bl.http_loop(server.port, path, args.seconds)
                    if name.startswith("endpoint")
                    else timed(fn, args.seconds)
                )
                base.append(a)
                ours.append(b)
                print(
                    f"  round {r}: raw SQL {a.per_s:8.1f}/s p50 {bl.pct(a.latencies_ms, 50):6.2f} ms"
                    f" | ours {b.per_s:8.1f}/s p50 {bl.pct(b.latencies_ms, 50):6.2f} ms p99 {bl.pct(b.latencies_ms, 99):6.2f} ms"
                )
            ours_lat = [v for s in ours for v in s.latencies_ms]
            base_lat = [v for s in base for v in s.latencies_ms]
            results.append((name, bl.median([s.per_s for s in base]), bl.median([s.per_s for s in ours]),
                            bl.pct(base_lat, 50), bl.pct(base_lat, 99), bl.pct(ours_lat, 50), bl.pct(ours_lat, 99)))  # fmt: skip
    conn.close()
    bl.header("bench_public summary (medians over rounds; latencies over all calls)")
    print(f"{'case':<20}{'raw /s':>10}{'ours /s':>10}{'raw p50':>10}{'raw p99':>10}{'ours p50':>10}{'ours p99':>10}")
    for name, b, o, bp50, bp99, p50, p99 in results:
        print(f"{name:<20}{b:>10.1f}{o:>10.1f}{bp50:>8.2f}ms{bp99:>8.2f}ms{p50:>8.2f}ms{p99:>8.2f}ms")
    for name, b, o, *_ in results:
        print(bl.ratio_line(name, o, b))


if __name__ == "__main__":
    main()
