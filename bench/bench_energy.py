"""Energy scenarios: (1) what the energy outputs cost: the same Helsinki scenario (30 % electric cars) run
with energy (fleet types, battery devices, emissions edgeData, trip and charging station outputs, EV trips
stored, the grid computed) vs without (goal: <= 1.2x wall). "The same run" is the one whose traffic is the
same: with energy but no charging stops (threshold 0), so the cars drive the same routes; the full model
(cars that depart low drive to a charger and stop there, which changes the traffic) is shown beside; (2) the grid of the demo city: the grid model, the building
loads and the pandapower loading per interval, for a 1-hour window in 15-minute intervals and a whole day.

Each run is `run_scenario FILE --inline` in its own process (libsumo: one simulation per process), the
two variants alternating (A B A B ...), --rounds times; medians.

    .venv/bin/python bench/bench_energy.py [--rounds 3] [--window 3600] [--period 1.0]"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
from benchlib import OUT, PYTHON, banner, header, median, prepare_bench_db, setup_django  # noqa: E402


def run_inline(document: dict[str, object]) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(document, handle)
    env = benchlib.django_env()
    env["CITYTWIN_SCENARIO_RUNS_DIR"] = str(OUT / "runs")
    env["CITYTWIN_SCENARIO_RUNS_PER_USER"] = "100"
    started = time.perf_counter()
    benchlib.run([PYTHON, "manage.py", "run_scenario", handle.name, "--inline"], env=env, quiet=True)
    wall = time.perf_counter() - started
    Path(handle.name).unlink()
    return wall


def bench_outputs(rounds: int, window: int, period: float) -> None:
    header(f"One seed with the energy outputs vs without ({window} s window, random trips every {period:g} s)")
    base = {
        "name": "bench energy", "begin": 8 * 3600, "end": 8 * 3600 + window, "interval": 900,
        "demand": {"source": "random", "period": period, "seed": 5}, "seeds": [1],
        "edits": [{"type": "ev_share", "share": 0.3}],
    }  # fmt: skip
    on, full, off = [], [], []
    for _ in range(rounds):
        on.append(run_inline({**base, "energy": True, "charging": {"threshold": 0.0}}))
        off.append(run_inline({**base, "energy": False, "edits": []}))
        full.append(run_inline({**base, "energy": True}))
    for label, values in (("with energy, no charging stops", on), ("without energy", off), ("full model", full)):
        print(f"{label + ':':32s} median {median(values):.1f} s [{', '.join(f'{v:.1f}' for v in values)}]")
    ratio = median(on) / median(off)
    print(f"cost of the energy outputs: {ratio:.2f}x wall ({'meets' if ratio <= 1.2 else 'ABOVE'} the <= 1.2x goal)")
    print(f"full model (charging stops change the traffic): {median(full) / median(off):.2f}x wall")


def bench_grid(rounds: int) -> None:
    import datetime

    from apps.energy.grid import grid_model
    from apps.energy.loads import building_loads
    from apps.energy.powerflow import loading_series

    header("The demo city's grid: grid model, building loads, pandapower loading per interval")
    day = datetime.date(2026, 11, 24)
    for label, intervals in (
        ("1 h in 15 min", [(8 * 3600 + 900 * i, 8 * 3600 + 900 * (i + 1)) for i in range(4)]),
        ("24 h in 15 min", [(900 * i, 900 * (i + 1)) for i in range(96)]),
    ):
        model_s, loads_s, flow_s = [], [], []
        for _ in range(rounds):
            t0 = time.perf_counter()
            grid = grid_model()
            t1 = time.perf_counter()
            loads = building_loads(grid, day=day, time_zone="Europe/Helsinki", intervals=intervals)
            t2 = time.perf_counter()
            loading = loading_series(grid, loads)
            t3 = time.perf_counter()
            model_s.append(t1 - t0)
            loads_s.append(t2 - t1)
            flow_s.append(t3 - t2)
        peak = max(float(max(v)) for v in loading.values())
        n = len(intervals)
        print(
            f"{label}: {len(grid.substations)} substations ({sum(s.synthetic for s in grid.substations)} synthetic); "
            f"grid model {median(model_s):.2f} s, building loads {median(loads_s):.2f} s, "
            f"power flow {median(flow_s):.2f} s = {1000 * median(flow_s) / n:.0f} ms per interval; peak loading {peak:.0f} %"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=None, help="(ignored; make bench passes it to every script)")
    parser.add_argument("--window", type=int, default=3600, help="simulated seconds")
    parser.add_argument("--period", type=float, default=1.0, help="seconds between random departures")
    args = parser.parse_args()
    banner("bench_energy.py", "energy scenarios: the energy outputs' cost, the grid's time per interval")
    prepare_bench_db()
    setup_django()
    bench_outputs(args.rounds, args.window, args.period)
    bench_grid(args.rounds)


if __name__ == "__main__":
    main()
