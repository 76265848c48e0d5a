"""OGC API - Features items: GET /ogc/collections/<id>/items?limit=N through uvicorn vs the raw SQL our view
runs, the existing GeoJSON list (/api/<id>/?limit=N), and two peers: pygeoapi (its PostgreSQL provider) and
django-gisserver (WFS 2.0 GetFeature, GeoJSON output) on the same tables, page sizes and ordering (by id).

Raw SQL: the ONE statement apps.ogc.features.page() runs for the page (captured through Django's
execute_wrapper, its parameters filled in as psycopg sends them), executed over one open psycopg connection;
the timed unit is execute + fetching the text. Every HTTP variant: one keep-alive connection, one Python
client (benchlib.RawHTTP), the whole body read, back to back for --seconds. Rounds alternate the variants
(raw, ours, list, pygeoapi, gisserver, raw, ...); medians. Ratios are throughput ours/other: above 1, ours
serves more pages per second. The peers are installed apart from the product (bench/ogc_peers.py); one that
cannot be installed or started is skipped with a printed reason. Then a small conformance table: what ours
and pygeoapi answer to crs, bbox-crs, paging and filters, each checked against PostGIS.

    .venv/bin/python bench/bench_ogc.py [--rounds 3] [--seconds 5] [--no-peers]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

import benchlib as bl
import ogc_peers as peers
from bench_geojson import timed_sql
from ogc_checks import CHECKS, Api

CASES = (("buildings", 10), ("buildings", 100), ("buildings", 1000), ("road-segments", 1000), ("road-segments", 10000))
TABLES = {"buildings": "buildings_building", "road-segments": "roads_roadsegment"}
VARIANTS = ("raw", "ours", "list", "pygeoapi", "gisserver")


@dataclass
class Case:
    collection: str
    limit: int
    sql: str
    count: int = 0
    paths: dict[str, tuple[int, str]] = field(default_factory=dict)  # variant -> (port, path)
    samples: dict[str, list[bl.Sample]] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=dict)


def fetch(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers={"Accept": "application/geo+json, application/json"})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def feature_ids(body: bytes | str) -> list[str]:
    """The features' ids as text (gisserver says "buildings.12" where the others say 12)."""
    return [str(f.get("id")).rsplit(".", 1)[-1] for f in json.loads(body)["features"]]


def captured_sql(conn: object, collection_id: str, limit: int) -> str:
    """The statement the items view runs for ?limit=N, as the server sends it to PostgreSQL."""
    import psycopg
    from django.contrib.auth.models import AnonymousUser
    from django.db import connection

    from apps.ogc import features
    from apps.ogc.collections import collection
    from apps.ogc.params import ItemsQuery

    seen: list[tuple[str, list]] = []

    def record(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        seen.append((sql, list(params or [])))
        return execute(sql, params, many, context)

    found = collection(collection_id)
    assert found is not None
    with connection.execute_wrapper(record):
        features.page(found, AnonymousUser(), ItemsQuery(limit=limit))
    sql, params = seen[-1]
    return psycopg.ClientCursor(conn).mogrify(sql, params)


def measure(conn: object, case: Case, variant: str, seconds: float) -> bl.Sample:
    if variant == "raw":
        return timed_sql(conn, case.sql, seconds)
    port, path = case.paths[variant]
    return bl.http_loop(port, path, seconds)


def floors(ports: dict[str, tuple[int, str]], seconds: float) -> None:
    """Each server's cost of a request that reads no table (the conformance document): the framework's floor
    under every page, so a small page's figures can be read against it."""
    cells = []
    for name, (port, path) in ports.items():
        bl.http_loop(port, path, 0.5)
        s = bl.http_loop(port, path, seconds)
        cells.append(f"{name} {path}: p50 {bl.pct(s.latencies_ms, 50):.1f} ms")
    print("  floor (no table read): " + "; ".join(cells))


def run_cases(conn: object, cases: list[Case], variants: list[str], args: argparse.Namespace) -> None:
    for case in cases:
        bl.header(f"{case.collection} ?limit={case.limit}")
        body = conn.execute(case.sql).fetchone()[0]  # type: ignore[attr-defined]
        want = feature_ids(body)
        case.count = len(want)
        case.bytes["raw"] = len(body.encode())
        print(f"  raw SQL: {len(want)} features, {case.bytes['raw']:,} bytes")
        for variant in variants[1:]:
            port, path = case.paths[variant]
            status, _, got = fetch(port, path)
            case.bytes[variant] = len(got)
            same = "same ids in the same order" if status == 200 and feature_ids(got) == want else "DIFFERENT ids"
            print(
                f"  {variant:<9} GET http://127.0.0.1:{port}{path}\n            HTTP {status}, {len(got):,} bytes, {same}"
            )
        for variant in variants:  # warm-up, not counted
            measure(conn, case, variant, 1.0)
        for r in range(1, args.rounds + 1):
            line = []
            for variant in variants:
                s = measure(conn, case, variant, args.seconds)
                case.samples.setdefault(variant, []).append(s)
                line.append(f"{variant} {s.per_s:7.1f}/s p50 {bl.pct(s.latencies_ms, 50):7.1f} ms")
            print(f"  round {r}: " + " | ".join(line))


def summary(cases: list[Case], variants: list[str]) -> None:
    bl.header("bench_ogc summary (req/s: medians over rounds; p50 over all requests; ratio: ours/other req/s)")
    head = f"{'collection':<14}{'limit':>6}{'n':>6}"
    for v in variants:
        head += f"{v + ' req/s':>16}{'p50 ms':>8}{'kB':>8}"
    print(head)
    for c in cases:
        row = f"{c.collection:<14}{c.limit:>6}{c.count:>6}"
        for v in variants:
            lat = [x for s in c.samples[v] for x in s.latencies_ms]
            row += f"{bl.median([s.per_s for s in c.samples[v]]):>16.1f}{bl.pct(lat, 50):>8.1f}{c.bytes[v] / 1e3:>8.1f}"
        print(row)
    print()
    print(f"{'collection':<14}{'limit':>6}" + "".join(f"{'ours/' + v:>16}" for v in variants if v != "ours"))
    for c in cases:
        ours = bl.median([s.per_s for s in c.samples["ours"]])
        cells = "".join(f"{ours / bl.median([s.per_s for s in c.samples[v]]):>15.2f}x" for v in variants if v != "ours")
        print(f"{c.collection:<14}{c.limit:>6}{cells}")
    print(
        "\nours/raw below 1 is our HTTP and Python cost over the same statement; ours/list, ours/pygeoapi and"
        " ours/gisserver above 1 mean ours serves more pages per second. One run on a shared 2-core machine:"
        " the ratios of the same run are what count."
    )


# ------------------------------------------------------------------------------------------- conformance
def conformance(conn: object, ours: int, pygeoapi: int | None, metric: int) -> None:
    """What each server answers, checked against PostGIS (figures from PostGIS, never typed in)."""
    bl.header(f"OGC API - Features behaviour, checked by requesting it (buildings; <metric> = {metric})")
    apis = {"ours": Api(fetch, ours, "/ogc")} | ({"pygeoapi": Api(fetch, pygeoapi, "")} if pygeoapi else {})
    print(f"{'check':<60}" + "".join(f"{name:<34}" for name in apis))
    for label, check in CHECKS:
        cells = []
        for api in apis.values():
            try:
                cells.append(check(conn, api, metric))
            except Exception as exc:  # a peer's odd answer is a finding, not a crash
                cells.append(f"error: {type(exc).__name__}: {str(exc)[:40]}")
        print(f"{label:<60}" + "".join(f"{c:<34}" for c in cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--no-peers", action="store_true", help="only raw SQL, ours and the GeoJSON list")
    args = ap.parse_args()

    bl.banner("bench_ogc", "OGC API - Features items vs raw SQL, the GeoJSON list, pygeoapi and django-gisserver")
    bl.prepare_bench_db()
    os.environ["CITYTWIN_THROTTLE_ANON"] = "10000000/min"  # one client hammering one URL (as bench_public)
    bl.isolate_redis("ogc")  # the throttle's and the extents' cache keys apart from other servers'
    bl.setup_django()
    from apps.ogc.collections import CITY_COLLECTIONS
    from apps.ogc.crs import metric_srid

    metric = metric_srid()
    conn = bl.connect(autocommit=True)
    cases = [Case(cid, limit, captured_sql(conn, cid, limit)) for cid, limit in CASES]
    bl.OUT.mkdir(parents=True, exist_ok=True)
    for c in cases:
        sql_file = bl.OUT / f"ogc_{c.collection}_{c.limit}.sql"
        sql_file.write_text(c.sql + ";\n")
        print(f"  raw SQL for {c.collection} ?limit={c.limit}: {sql_file.relative_to(bl.ROOT)}")
    print(f"  (or: {bl.shell_line(bl.pgbench_command(bl.OUT / 'ogc_buildings_10.sql', args.seconds))})")
    tables = {}
    for cid, table in TABLES.items():
        model = CITY_COLLECTIONS[cid]
        cols = conn.execute(  # type: ignore[attr-defined]
            "SELECT array_agg(column_name::text) FROM information_schema.columns WHERE table_name = %s", [table]
        ).fetchone()[0]
        # A foreign key's property (from_node) is its column (from_node_id) in the table pygeoapi reflects.
        tables[cid] = (table, [p if p in cols else f"{p}_id" for p in model.properties])
    extent = list(conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM buildings_building) x").fetchone())  # type: ignore[attr-defined]  # fmt: skip

    variants = ["raw", "ours", "list"]
    skipped: list[str] = []
    with bl.Server("bench_ogc_server.log") as server:
        for c in cases:
            c.paths["ours"] = (server.port, f"/ogc/collections/{c.collection}/items?limit={c.limit}&f=json")
            c.paths["list"] = (server.port, f"/api/{c.collection}/?limit={c.limit}")
        starters: list[tuple[str, Callable]] = [] if args.no_peers else [
            ("pygeoapi", lambda: peers.pygeoapi_server(tables, extent, metric)),
            ("gisserver", peers.gisserver_server),
        ]  # fmt: skip
        ports: dict[str, int] = {}
        with ExitStack() as stack:
            for name, start in starters:
                print(f"\nStarting the peer {name}:")
                t0 = time.monotonic()
                try:
                    ports[name] = stack.enter_context(start())
                    variants.append(name)
                except peers.PeerUnavailable as exc:
                    skipped.append(f"{name}: {exc}")
                    print(f"  SKIPPING the peer {name}: {exc}")
                print(f"  ({time.monotonic() - t0:.1f} s)")
            for c in cases:
                if "pygeoapi" in ports:
                    c.paths["pygeoapi"] = (
                        ports["pygeoapi"],
                        f"/collections/{c.collection}/items?limit={c.limit}&f=json",
                    )
                if "gisserver" in ports:
                    c.paths["gisserver"] = (ports["gisserver"], peers.wfs_path(c.collection, c.limit))
            print(f"\n{bl.load_text()}")
            floor_paths = {"ours": (server.port, "/ogc/conformance?f=json")}
            floor_paths |= {"pygeoapi": (ports["pygeoapi"], "/conformance?f=json")} if "pygeoapi" in ports else {}
            floors(floor_paths, args.seconds)
            run_cases(conn, cases, variants, args)
            summary(cases, variants)
            conformance(conn, server.port, ports.get("pygeoapi"), metric)
    for line in skipped:
        print(f"SKIPPED {line}")
    print(bl.load_text())
    conn.close()


if __name__ == "__main__":
    main()
