"""Bulk load: `manage.py load_city FILE.geojson` vs `ogr2ogr -f PostgreSQL` (COPY mode) on the same file.

Data: ~50,000 building polygons in one GeoJSON (bench/out/), made from the demo city's 483 Helsinki
buildings copied over a grid of offsets with unique string ids ("way/123#7"); properties id, name, building, building_levels,
height, as an OSM-derived export has them.
Baseline: ogr2ogr into a fresh table `ogr_buildings` (GiST index on geom, made by ogr2ogr) plus a unique
index on its id column, the table dropped between rounds; timed: ogr2ogr + the CREATE UNIQUE INDEX.
Ours: `load_city FILE --kind buildings --source <fresh name> -v0` into buildings_building (its own indexes:
pkey, unique (source, source_id), GiST geom, use (x2), import_run_id), wall clock including Python's
start-up; and separately the in-process run_import() call. Our rows are deleted (and the table vacuumed)
after each round, untimed, so every round inserts into the same table state.
Rounds alternate baseline, ours (CLI), ours (in-process); medians. Then, if ours is far below the goal (or
with --profile), one more in-process run timed per stage and one `python -m cProfile` run of the command.

    .venv/bin/python bench/bench_load.py [--rounds 3] [--features 50000] [--profile]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import subprocess
import time
from pathlib import Path

import benchlib as bl

OGR_TABLE = "ogr_buildings"
SOURCE_PREFIX = "bench-load-"
GRID_DX = 0.02  # degrees; the demo city spans ~0.018 lon x ~0.015 lat, so copies do not overlap
GRID_DY = 0.016


# ------------------------------------------------------------------------------------------------- data
def _shift(coords: list, dx: float, dy: float) -> list:
    if coords and isinstance(coords[0], (int, float)):
        return [round(coords[0] + dx, 7), round(coords[1] + dy, 7)]
    return [_shift(c, dx, dy) for c in coords]


def make_geojson(conn: object, path: Path, want: int) -> int:
    """Write ~`want` building features (whole copies of the demo city) to `path`; returns the count."""
    rows = conn.execute(  # type: ignore[attr-defined]
        "SELECT source_id, name, use, levels, CASE WHEN height_source = 'height' THEN height_m END, ST_AsGeoJSON(geom, 7) "
        "FROM buildings_building WHERE source = 'osm' ORDER BY id"
    ).fetchall()
    copies = math.ceil(want / len(rows))
    cols = math.ceil(math.sqrt(copies * 1.25))
    features = []
    for k in range(copies):
        dx, dy = (k % cols) * GRID_DX, (k // cols) * GRID_DY
        for source_id, name, use, levels, height, geojson in rows:
            geom = json.loads(geojson)
            if geom["type"] == "MultiPolygon" and len(geom["coordinates"]) == 1:
                geom = {"type": "Polygon", "coordinates": geom["coordinates"][0]}  # as most exports write them
            geom["coordinates"] = _shift(geom["coordinates"], dx, dy)
            # String ids, as OSM exports write them ("way/123"); an integer "id" property is GDAL's FID
            # and makes load_city fail (see bench/README.md, "Found while benchmarking").
            props = {
                "id": f"{source_id}#{k}",
                "name": name or None,
                "building": use or "yes",
                "building_levels": levels,
                "height": height,
            }
            features.append({"type": "Feature", "properties": props, "geometry": geom})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        fh.write(
            '{"type": "FeatureCollection", "name": "buildings", "crs": {"type": "name", "properties": '
            '{"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},\n"features": [\n'
        )
        fh.write(",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features))
        fh.write("\n]}\n")
    tmp.rename(path)
    return len(features)


def feature_count(path: Path) -> int:
    with open(path) as fh:
        return len(json.load(fh)["features"])


# ------------------------------------------------------------------------------------------ CPU seconds
class CpuClock:
    """CPU seconds spent by this process, its children (ogr2ogr, the load_city command) and the
    PostgreSQL cluster (the postmaster, its live children, and the children it has reaped: a finished
    ogr2ogr's backend included). On a shared machine other users' load moves wall-clock figures up to 2x;
    CPU seconds move much less, so the summary prints both. None for the server when the cluster is not a
    local one this user can read in /proc."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, conn: object) -> None:
        self.postmaster: int | None = None
        with contextlib.suppress(Exception):
            data_dir = conn.execute("SHOW data_directory").fetchone()[0]  # type: ignore[attr-defined]
            self.postmaster = int(Path(data_dir, "postmaster.pid").read_text().split()[0])
            self._server()

    @staticmethod
    def _stat(pid: int) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    def _server(self) -> float | None:
        if self.postmaster is None:
            return None
        try:
            fields = self._stat(self.postmaster)  # fields[11:15]: utime, stime, cutime, cstime
            ticks = sum(int(f) for f in fields[11:15])
            for child in Path(f"/proc/{self.postmaster}/task/{self.postmaster}/children").read_text().split():
                with contextlib.suppress(OSError):
                    ticks += sum(int(f) for f in self._stat(int(child))[11:13])
        except OSError:
            self.postmaster = None
            return None
        return ticks / self.TICK

    def now(self) -> tuple[float, float | None]:
        """(client CPU s: this process and its waited-for children, server CPU s or None)."""
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, self._server()

    def since(self, start: tuple[float, float | None]) -> tuple[float, float | None]:
        client, server = self.now()
        return client - start[0], None if server is None or start[1] is None else server - start[1]


# --------------------------------------------------------------------------------------------- baseline
def ogr_commands(path: Path) -> tuple[list[str], str]:
    pg = bl.PgTarget.from_url(bl.bench_database_url())
    ogr = [
        "ogr2ogr",
        "-f",
        "PostgreSQL",
        pg.ogr(),
        str(path),
        "-nln",
        OGR_TABLE,
        "-lco",
        "GEOMETRY_NAME=geom",
        "-lco",
        "SPATIAL_INDEX=GIST",
        "-nlt",
        "MULTIPOLYGON",
        "-t_srs",
        "EPSG:4326",
        "--config",
        "PG_USE_COPY",
        "YES",
    ]
    index_sql = f"CREATE UNIQUE INDEX {OGR_TABLE}_id_key ON {OGR_TABLE} (id)"
    return ogr, index_sql


def run_ogr(conn: object, path: Path) -> tuple[float, float]:
    """One baseline round: (ogr2ogr seconds, unique-index seconds). The table is dropped first, untimed."""
    conn.execute(f"DROP TABLE IF EXISTS {OGR_TABLE}")  # type: ignore[attr-defined]
    ogr, index_sql = ogr_commands(path)
    pg = bl.PgTarget.from_url(bl.bench_database_url())
    t0 = time.perf_counter()
    proc = subprocess.run(ogr, env=pg.env(), capture_output=True, text=True)  # noqa: S603
    t1 = time.perf_counter()
    if proc.returncode != 0:
        raise SystemExit(f"ogr2ogr failed: {proc.stderr}")
    conn.execute(index_sql)  # type: ignore[attr-defined]
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


# -------------------------------------------------------------------------------------------------- ours
def cli_command(path: Path, source: str) -> list[str]:
    return [bl.PYTHON, "manage.py", "load_city", str(path), "--kind", "buildings", "--source", source, "-v0"]


def run_cli(path: Path, source: str) -> float:
    cmd = cli_command(path, source)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=bl.ROOT, env=bl.django_env(), capture_output=True, text=True)  # noqa: S603
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"load_city failed: {proc.stdout}{proc.stderr}")
    return elapsed


def run_inprocess(path: Path, source: str) -> float:
    from apps.imports.services import run_import

    t0 = time.perf_counter()
    run_import(path=path, kind="buildings", source=source)
    return time.perf_counter() - t0


def loaded(conn: object, source: str) -> int:
    return conn.execute("SELECT count(*) FROM buildings_building WHERE source = %s", [source]).fetchone()[0]  # type: ignore[attr-defined]


def clean_ours(conn: object, source: str | None = None) -> None:
    """Delete benchmark rows (one source, or every bench-load-* leftover) and vacuum, untimed."""
    if source:
        conn.execute("DELETE FROM buildings_building WHERE source = %s", [source])  # type: ignore[attr-defined]
    else:
        conn.execute("DELETE FROM buildings_building WHERE source LIKE %s", [SOURCE_PREFIX + "%"])  # type: ignore[attr-defined]
    conn.execute("VACUUM ANALYZE buildings_building")  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------ profile
def stage_breakdown(path: Path, source: str) -> None:
    """One in-process run with each stage timed: the service's helpers wrapped in timers, each SQL
    statement timed through Django's execute_wrapper. Nothing in the product is changed."""
    from django.db import connection

    from apps.imports import loading, services

    timer = bl.StageTimer(sql_width=90)
    stages, statements, timed, sql_timer = timer.stages, timer.statements, timer.timed, timer.sql_timer

    labels = {
        (services, "file_sha256"): "sha256 of the file",
        (services, "read_layers"): "read_layers (GeoJSON: our reader; GPKG/Shapefile: pyogrio Arrow)",
        (services, "prepare_layer"): "prepare_layer (Python, per row)",
        (loading, "_copy_rows"): "_copy_rows (binary COPY into the staging table)",
    }
    originals = {(module, n): getattr(module, n) for module, n in labels}
    try:
        for (module, n), fn in originals.items():
            setattr(module, n, timed(labels[(module, n)], fn))
        t0 = time.perf_counter()
        with connection.execute_wrapper(sql_timer):
            services.run_import(path=path, kind="buildings", source=source)
        total = time.perf_counter() - t0
    finally:
        for (module, n), fn in originals.items():
            setattr(module, n, fn)
    print(f"\nWhere the time goes: one in-process run_import(), {total:.2f} s in all")
    for name, secs in stages.items():
        print(f"  {secs:7.2f} s {100 * secs / total:5.1f}%  {name}")
    for sql, secs in sorted(statements, key=lambda s: -s[1])[:6]:
        print(f"  {secs:7.2f} s {100 * secs / total:5.1f}%  SQL: {sql}")
    accounted = sum(stages.values()) + sum(s for _, s in statements)
    print(f"  {total - accounted:7.2f} s {100 * (total - accounted) / total:5.1f}%  everything else")


def cprofile_cli(path: Path, source: str) -> None:
    prof = bl.OUT / "load_city.prof"
    cmd = [
        bl.PYTHON,
        "-m",
        "cProfile",
        "-o",
        str(prof),
        "manage.py",
        "load_city",
        str(path),
        "--kind",
        "buildings",
        "--source",
        source,
        "-v0",
    ]
    print("\ncProfile of the command (profiling slows Python-heavy parts more than SQL):")
    bl.run(cmd, env=bl.django_env())
    import io
    import pstats

    for order, n in (("cumulative", 30), ("tottime", 15)):
        buf = io.StringIO()
        pstats.Stats(str(prof), stream=buf).strip_dirs().sort_stats(order).print_stats(n)
        text = buf.getvalue()
        start = text.find("   ncalls")
        print(f"\n  top {n} by {order} (python -m pstats {prof.relative_to(bl.ROOT)}):")
        print("  " + text[start:].rstrip().replace("\n", "\n  "))


def print_cpu(cpu: dict[str, list[tuple[float, float | None]]]) -> None:
    """Medians of CPU seconds per run: client, server, both; and the ratio of the totals (less moved by
    other users of the machine than wall clock; a second view, the goal is on wall clock)."""
    print("\nCPU seconds per run (medians; client = the Python or ogr2ogr process, server = this PostgreSQL cluster):")
    totals: dict[str, float] = {}
    for key, label in (
        ("base", "baseline ogr2ogr + unique index"),
        ("cli", "ours: load_city command"),
        ("inproc", "ours: run_import() in-process"),
    ):
        client = bl.median([c for c, _ in cpu[key]])
        servers = [s for _, s in cpu[key] if s is not None]
        server = bl.median(servers) if len(servers) == len(cpu[key]) else None
        totals[key] = client + (server or 0.0)
        shown = f"{server:6.2f}" if server is not None else "     ?"
        print(f"  {label:<34} client {client:6.2f}  server {shown}  total {totals[key]:6.2f}")
    for key, label in (("cli", "load_city command"), ("inproc", "run_import() in-process")):
        print(f"  {label}: CPU-seconds ratio baseline/ours = {totals['base'] / totals[key]:.2f}x")


# ---------------------------------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--features", type=int, default=50000)
    ap.add_argument("--profile", action="store_true", help="profile ours even if it meets the goal")
    ap.add_argument("--seconds", type=int, help="ignored (a load is timed whole); bin/bench passes it to every script")
    args = ap.parse_args()

    bl.banner("bench_load", "load_city (GeoJSON) vs ogr2ogr COPY mode, same file")
    bl.prepare_bench_db()
    bl.setup_django()
    conn = bl.connect(autocommit=True)
    clean_ours(conn)  # leftovers of an interrupted run

    path = bl.OUT / f"buildings_{args.features // 1000}k.geojson"
    if not path.exists():
        print(f"\nGenerating {path.relative_to(bl.ROOT)} ...")
        make_geojson(conn, path, args.features)
    n = feature_count(path)
    print(
        f"\nData: {path.relative_to(bl.ROOT)}: {n:,} building polygons, {path.stat().st_size / 1e6:.1f} MB "
        f"(the {loaded(conn, 'osm')} demo buildings copied over a grid, unique ids; delete the file to regenerate)"
    )
    ogr, index_sql = ogr_commands(path)
    print("\nCommands (each round):")
    print(f"  baseline: SQL: DROP TABLE IF EXISTS {OGR_TABLE}   (untimed)")
    print(f"            $ {bl.shell_line(ogr)}")
    print(f"            SQL: {index_sql}")
    print(f"  ours CLI: $ {bl.shell_line(cli_command(path, SOURCE_PREFIX + 'cli-N'), bl.django_env())}")
    print(
        f"  ours in-process: apps.imports.services.run_import(path=Path('{path.relative_to(bl.ROOT)}'), "
        f"kind='buildings', source='{SOURCE_PREFIX}inproc-N')"
    )
    print(
        "  after each of ours (untimed): DELETE FROM buildings_building WHERE source = '<that source>'; "
        "VACUUM ANALYZE buildings_building"
    )

    stamp = time.strftime("%H%M%S")
    base, cli, inproc, base_ogr_only = [], [], [], []
    print()
    clock = CpuClock(conn)
    cpu: dict[str, list[tuple[float, float | None]]] = {"base": [], "cli": [], "inproc": []}
    for r in range(1, args.rounds + 1):
        start = clock.now()
        t_ogr, t_idx = run_ogr(conn, path)
        cpu["base"].append(clock.since(start))
        got = conn.execute(f"SELECT count(*) FROM {OGR_TABLE}").fetchone()[0]
        base.append(t_ogr + t_idx)
        base_ogr_only.append(t_ogr)

        source = f"{SOURCE_PREFIX}{stamp}-cli-{r}"
        start = clock.now()
        t_cli = run_cli(path, source)
        cpu["cli"].append(clock.since(start))
        got_cli = loaded(conn, source)
        clean_ours(conn, source)
        cli.append(t_cli)

        source = f"{SOURCE_PREFIX}{stamp}-inproc-{r}"
        start = clock.now()
        t_in = run_inprocess(path, source)
        cpu["inproc"].append(clock.since(start))
        got_in = loaded(conn, source)
        clean_ours(conn, source)
        inproc.append(t_in)
        print(
            f"  round {r}: baseline {t_ogr + t_idx:6.2f} s (ogr2ogr {t_ogr:.2f} + unique index {t_idx:.2f}; {got:,} rows)"
            f" {n / (t_ogr + t_idx):8,.0f} f/s | ours CLI {t_cli:6.2f} s ({got_cli:,} rows) {n / t_cli:8,.0f} f/s"
            f" | ours in-process {t_in:6.2f} s ({got_in:,} rows) {n / t_in:8,.0f} f/s"
        )
    conn.execute(f"DROP TABLE IF EXISTS {OGR_TABLE}")

    b, c, i = bl.median(base), bl.median(cli), bl.median(inproc)
    bl.header(f"bench_load summary ({n:,} features; medians over {args.rounds} rounds)")
    print(f"{'':<34}{'seconds':>10}{'features/s':>14}")
    print(f"{'baseline ogr2ogr + unique index':<34}{b:>10.2f}{n / b:>14,.0f}")
    print(f"{'  (ogr2ogr alone)':<34}{bl.median(base_ogr_only):>10.2f}{n / bl.median(base_ogr_only):>14,.0f}")
    print(f"{'ours: load_city command':<34}{c:>10.2f}{n / c:>14,.0f}")
    print(f"{'ours: run_import() in-process':<34}{i:>10.2f}{n / i:>14,.0f}")
    print(bl.ratio_line("load_city command", n / c, n / b))
    print(bl.ratio_line("run_import() in-process", n / i, n / b))
    print_cpu(cpu)

    if args.profile or (n / i) / (n / b) < 0.5:
        bl.header("Profile of ours (ratio far below the goal, or --profile)")
        source = f"{SOURCE_PREFIX}{stamp}-stages"
        stage_breakdown(path, source)
        clean_ours(conn, source)
        source = f"{SOURCE_PREFIX}{stamp}-cprofile"
        cprofile_cli(path, source)
        clean_ours(conn, source)
    conn.close()


if __name__ == "__main__":
    main()
