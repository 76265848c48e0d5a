"""The comparison board's data callback: dashboards.compare.data.comparison() (what the board's main
callback calls: two runs, their KPIs and deltas, their per-interval totals, what changed, and the
per-segment difference parsed into a data frame) vs the raw SQL of the same difference query.

Baseline: the statement apps.simulation.selectors.difference_geojson runs for the same two runs (captured
from Django, parameters filled in by psycopg), over one open psycopg connection; the timed unit is execute +
fetching the whole text. Ours: comparison() in this process (Django, DEBUG off), one call after the other.
Both need two finished runs in the benchmark database: the script makes them once with
`run_scenario --inline` (a base and the busiest main road of the base closed; 2 seeds, 20 minutes) and
reuses them after. Rounds alternate baseline and ours; medians. Where the time of one call goes is
printed at the end.

    .venv/bin/python bench/bench_compare.py [--rounds 3] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

NAMES = ("bench compare base", "bench compare closed")
WINDOW = {"begin": 7 * 3600, "end": 7 * 3600 + 1200, "interval": 300, "seeds": [1, 2]}
DEMAND = {"source": "random", "period": 1.5, "seed": 7}
USER = "bench-compare-planner"


def run_inline(document: dict[str, object]) -> int:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(document, handle)
    env = bl.django_env()
    env["CITYTWIN_SCENARIO_RUNS_DIR"] = str(bl.OUT / "runs")
    env["CITYTWIN_SCENARIO_RUNS_PER_USER"] = "100"
    done = bl.run([bl.PYTHON, "manage.py", "run_scenario", handle.name, "--inline", "--user", USER], env=env)
    Path(handle.name).unlink()
    return int(json.loads(done.stdout)["run"])


def the_runs() -> tuple[int, int]:
    """(closed run, base run): finished runs of the benchmark's planner, made once."""
    from django.db.models import Sum

    from apps.accounts.models import Role, User
    from apps.accounts.services import create_user
    from apps.roads.models import RoadSegment
    from apps.simulation.models import ScenarioRun, SegmentResult

    if not User.objects.filter(username=USER).exists():
        create_user(username=USER, password=secrets.token_hex(16), role=Role.PLANNER)  # never logs in
    found = {
        r.scenario.name: r.pk
        for r in ScenarioRun.objects.filter(scenario__name__in=NAMES, state="succeeded").select_related("scenario")
    }
    if len(found) == 2:
        return found[NAMES[1]], found[NAMES[0]]
    print("  making the two runs (run_scenario --inline) ...")
    base = run_inline({"name": NAMES[0], **WINDOW, "demand": DEMAND})
    main = RoadSegment.objects.filter(highway__in=["primary", "trunk"]).exclude(name="").values("id")
    busiest = (
        SegmentResult.objects.filter(seed_run__run_id=base, segment_id__in=main)
        .values("segment_id").annotate(total=Sum("entered")).order_by("-total").first()
    )  # fmt: skip
    closed = run_inline(
        {
            "name": NAMES[1],
            **WINDOW,
            "demand": DEMAND,
            "edits": [{"type": "close_segment", "segment": busiest["segment_id"]}],
        }
    )
    return closed, base


def raw_sql(a: int, b: int) -> str:
    """The statement difference_geojson runs, with its parameters filled in (as psql would run it)."""
    from django.db import connection

    from apps.simulation.models import ScenarioRun
    from apps.simulation.selectors import difference_geojson

    captured: list[tuple[str, object]] = []

    def capture(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        difference_geojson(ScenarioRun.objects.get(pk=a), ScenarioRun.objects.get(pk=b), interval=None, bbox=None)
    sql, params = next((s, p) for s, p in captured if "FULL JOIN" in s)
    with connection.cursor() as cursor:  # Django's psycopg 3 cursor is a ClientCursor: it can fill them in
        return str(cursor.cursor.mogrify(sql, params))


def timed(fn, seconds: float) -> bl.Sample:  # noqa: ANN001
    lat: list[float] = []
    clock = time.perf_counter
    start = now = clock()
    while now < start + seconds:
        t0 = clock()
        fn()
        now = clock()
        lat.append((now - t0) * 1000)
    return bl.Sample(ops=len(lat), seconds=now - start, latencies_ms=lat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    args = ap.parse_args()
    bl.prepare_bench_db()
    bl.setup_django()
    bl.banner("bench_compare.py", "the comparison board's data callback vs the raw SQL of its difference query")

    from apps.accounts.models import User
    from dashboards.compare import data

    a, b = the_runs()
    user = User.objects.get(username=USER)
    sql = raw_sql(a, b)
    result = data.comparison(user, a, b, interval=None)
    assert result is not None
    print(f"runs: A #{a} (closure) vs B #{b} (base); {len(result.segments)} segments, {len(result.kpis)} KPIs, "
          f"{len(result.series)} series rows")  # fmt: skip
    print(f"baseline SQL ({len(sql)} chars): {' '.join(sql.split())[:300]} ...")

    ours: list[bl.Sample] = []
    base: list[bl.Sample] = []
    with bl.connect() as conn:
        conn.execute("SET jit = off")  # as the application's connections (settings: -c jit=off)
        for _ in range(args.rounds):
            base.append(timed(lambda: conn.execute(sql).fetchone()[0], args.seconds))
            ours.append(timed(lambda: data.comparison(user, a, b, interval=None), args.seconds))
    bl.header("Results (medians over rounds)")
    for label, samples in (("raw SQL (difference query)", base), ("comparison() (data callback)", ours)):
        lat = [x for s in samples for x in s.latencies_ms]
        print(f"{label:32s} {bl.median([s.per_s for s in samples]):8.1f} calls/s   {bl.lat_text(lat)}")
    ratio = bl.median([s.per_s for s in ours]) / bl.median([s.per_s for s in base])
    print(f"throughput ratio ours/raw SQL = {ratio:.2f}x (the callback also reads KPIs, both runs' series, the "
          f"edits, and parses the GeoJSON into a data frame)")  # fmt: skip

    bl.header("Where one call's time goes")
    from django.db import connection

    import dashboards.compare.data as module

    timer = bl.StageTimer()
    for name in ("difference_geojson", "interval_totals", "describe_changes", "segments_frame", "kpi_deltas"):
        setattr(module, name, timer.timed(name, getattr(module, name)))
    with connection.execute_wrapper(timer.sql_timer):
        t0 = time.perf_counter()
        for _ in range(10):
            data.comparison(user, a, b, interval=None)
        total = (time.perf_counter() - t0) / 10
    print(f"one call: {total * 1000:.1f} ms")
    for name, seconds in sorted(timer.stages.items(), key=lambda kv: -kv[1]):
        print(f"  {name:22s} {seconds / 10 * 1000:7.1f} ms")
    print(f"  SQL statements per call: {len(timer.statements) // 10}")


if __name__ == "__main__":
    main()
