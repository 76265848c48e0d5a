"""GeoJSON lists: GET /api/<layer>/?limit=10000 through uvicorn vs the raw SQL that builds the same
FeatureCollection inside PostGIS.

Baseline: apps.core.geojson.feature_collection_sql() applied to the viewset's queryset
(the viewset's queryset, limit 10000, offset 0, the viewset's geojson_fields: the one statement the view runs), with the parameters the view
passes filled in, run over one open psycopg connection; the timed unit is execute + fetching the whole
text result. Ours: the real ASGI server (uvicorn, 1 worker, DEBUG off), one keep-alive connection, one
Python client (benchlib.RawHTTP), the whole body read. Rounds alternate baseline and ours; medians. Three
servers (VARIANTS): the product's defaults (the page cache on: a repeated page is a cache hit), the cache off
(every request runs the SQL), and the cache off through Django's ASGI handler.

    .venv/bin/python bench/bench_geojson.py [--rounds 3] [--seconds 5] [--variants product "cache off"]
"""

from __future__ import annotations

import argparse
import os
import time

import benchlib as bl

LIMIT = 10000
# The servers measured, each against the baseline in alternating rounds: the product as it runs, then
# without the list page cache, then also through Django's ASGI handler (the product before issue 13).
VARIANTS: dict[str, dict[str, str]] = {
    "product": {},
    "cache off": {"CITYTWIN_LIST_CACHE": "false"},
    "asgi, cache off": {"CITYTWIN_LIST_CACHE": "false", "CITYTWIN_DJANGO_HTTP": "asgi"},
}


def timed_sql(conn: object, sql: str, seconds: float) -> bl.Sample:
    """Execute `sql` and fetch its one text value, back to back on one connection, for `seconds`."""
    lat: list[float] = []
    nbytes = 0
    clock = time.perf_counter
    start = now = clock()
    while now < start + seconds:
        t0 = clock()
        text = conn.execute(sql).fetchone()[0]  # type: ignore[attr-defined]
        now = clock()
        lat.append((now - t0) * 1000)
        nbytes += len(text.encode())
    return bl.Sample(ops=len(lat), seconds=now - start, latencies_ms=lat, nbytes=nbytes)


def measure(conn: object, port: int, case: dict, args: argparse.Namespace) -> dict:
    """Rounds alternating the baseline SQL and the endpoint on `port`; medians and percentiles."""
    bl.header(f"{case['name']}: {case['count']} features, {len(case['body'].encode()) / 1e6:.2f} MB")
    status, body = bl.get_once(port, case["path"])
    same = (
        "identical"
        if status == 200 and body.decode() == case["body"]
        else (f"DIFFERENT (HTTP {status}, {len(body):,} bytes vs {len(case['body'].encode()):,})")
    )
    print(f"  the endpoint's body vs the SQL's text: {same}")
    print(
        f"  baseline: psycopg, one connection: conn.execute(open('{case['sql_file'].relative_to(bl.ROOT)}')"
        f".read()).fetchone()[0], back to back for {args.seconds} s"
    )
    print(f"            (or: {bl.shell_line(bl.pgbench_command(case['sql_file'], args.seconds))})")
    print(
        f"  ours:     GET http://127.0.0.1:{port}{case['path']} on one keep-alive connection "
        f"(benchlib.RawHTTP), back to back for {args.seconds} s"
    )
    timed_sql(conn, case["sql"], 1.0)  # warm-up, not counted
    bl.http_loop(port, case["path"], 1.0)
    base, ours = [], []
    sessions = 0
    for r in range(1, args.rounds + 1):
        a = timed_sql(conn, case["sql"], args.seconds)
        s0 = bl.db_sessions(conn)
        b = bl.http_loop(port, case["path"], args.seconds)
        time.sleep(0.5)  # backends report their session when they exit
        sessions += bl.db_sessions(conn) - s0
        base.append(a)
        ours.append(b)
        print(
            f"  round {r}: baseline {a.per_s:6.2f} req/s {a.mb_per_s:6.1f} MB/s p50 {bl.pct(a.latencies_ms, 50):7.1f} ms"
            f" | ours {b.per_s:6.2f} req/s {b.mb_per_s:6.1f} MB/s p50 {bl.pct(b.latencies_ms, 50):7.1f} ms"
            f" p99 {bl.pct(b.latencies_ms, 99):7.1f} ms"
        )
    n_req = sum(o.ops for o in ours)
    print(
        f"  PostgreSQL sessions opened while ours ran: {sessions} for {n_req} requests "
        f"({sessions / max(1, n_req):.2f} per request; the baseline: 1 in all)"
    )
    ours_lat = [v for s in ours for v in s.latencies_ms]
    base_lat = [v for s in base for v in s.latencies_ms]
    return {
        "name": case["name"],
        "count": case["count"],
        "mb": len(case["body"].encode()) / 1e6,
        "base": bl.median([s.per_s for s in base]),
        "ours": bl.median([s.per_s for s in ours]),
        "base_mbs": bl.median([s.mb_per_s for s in base]),
        "ours_mbs": bl.median([s.mb_per_s for s in ours]),
        "p50": bl.pct(ours_lat, 50),
        "p99": bl.pct(ours_lat, 99),
        "bp50": bl.pct(base_lat, 50),
        "bp99": bl.pct(base_lat, 99),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--variants", nargs="*", choices=list(VARIANTS), help="servers to measure (default: all)")
    args = ap.parse_args()

    bl.banner("bench_geojson", "GeoJSON list endpoints vs the raw FeatureCollection SQL")
    bl.prepare_bench_db()
    # One client hammering one URL: the throttle still counts every request (its Redis round trip is part of
    # ours) but with a budget this client cannot exhaust.
    os.environ["CITYTWIN_THROTTLE_ANON"] = "10000000/min"
    bl.setup_django()
    import psycopg

    from apps.buildings.api.views import BuildingViewSet
    from apps.core.geojson import feature_collection_sql
    from apps.roads.api.views import RoadSegmentViewSet

    conn = bl.connect(autocommit=True)
    bl.OUT.mkdir(parents=True, exist_ok=True)
    cases = []
    for name, viewset, path in (
        ("road-segments", RoadSegmentViewSet, f"/api/road-segments/?limit={LIMIT}"),
        ("buildings", BuildingViewSet, f"/api/buildings/?limit={LIMIT}"),
    ):
        queryset = viewset.queryset.model.objects.order_by("pk")
        count = queryset.count()
        sql, params = feature_collection_sql(queryset, fields=viewset.geojson_fields, limit=LIMIT, offset=0)
        # What the view passes: the next and previous links (no other page at this limit), then the
        # queryset's own parameters. Django (psycopg 3, client-side binding) sends exactly this text.
        filled = psycopg.ClientCursor(conn).mogrify(sql, [None, None, *params])
        sql_file = bl.OUT / f"geojson_{name}.sql"
        sql_file.write_text(filled + ";\n")
        body = conn.execute(filled).fetchone()[0]
        cases.append({"name": name, "path": path, "sql": filled, "sql_file": sql_file, "count": count, "body": body})
        print(
            f"\n{name}: {count} features, FeatureCollection {len(body.encode()) / 1e6:.2f} MB; SQL in "
            f"{sql_file.relative_to(bl.ROOT)}:"
        )
        print("    " + filled)

    results = []
    for variant, env in VARIANTS.items():
        if args.variants and variant not in args.variants:
            continue
        bl.header(f"server: {variant} ({' '.join(f'{k}={v}' for k, v in env.items()) or 'the product defaults'})")
        with bl.Server(f"bench_geojson_server_{variant.replace(' ', '_').replace(',', '')}.log", env=env) as server:
            for case in cases:
                results.append({"variant": variant, **measure(conn, server.port, case, args)})
    conn.close()

    bl.header("bench_geojson summary (medians over rounds; latencies over all requests of all rounds)")
    print(
        f"{'server':<16}{'list':<16}{'features':>9}{'MB':>7}{'base req/s':>12}{'ours req/s':>12}{'base MB/s':>11}{'ours MB/s':>11}"
        f"{'base p50':>10}{'ours p50':>10}{'ours p99':>10}{'ratio':>8}"
    )
    for r in results:
        ratio = r["ours"] / r["base"] if r["base"] else float("nan")
        print(
            f"{r['variant']:<16}{r['name']:<16}{r['count']:>9}{r['mb']:>7.2f}{r['base']:>12.2f}{r['ours']:>12.2f}{r['base_mbs']:>11.1f}"
            f"{r['ours_mbs']:>11.1f}{r['bp50']:>8.1f}ms{r['p50']:>8.1f}ms{r['p99']:>8.1f}ms{ratio:>7.2f}x"
        )
    for r in results:
        print(bl.ratio_line(f"{r['variant']}: {r['name']} ?limit={LIMIT}", r["ours"], r["base"]))
    print(
        "The goal (issue 13) is for the product as it runs (defaults: Django through its WSGI handler, pages cached"
        " under the data version); the other servers show what each part gives."
    )


if __name__ == "__main__":
    main()
