"""Scenario runs: (1) the Helsinki network build vs netconvert alone on the same exported files; (2) one
scenario seed through the job system (POST-equivalent start_run -> Celery worker -> results stored) vs
the bare `sumo` command on the same generated files and outputs (goal: <= 1.1x wall); (3) 4 seeds on a
worker with 2 processes vs 1.

Ours and the baselines alternate (A B A B ...), --rounds times; medians. The worker is a real Celery
worker (libsumo in its child process) on the benchmark database and its own queue.

    .venv/bin/python bench/bench_scenario.py [--rounds 3] [--window 3600] [--period 1.0]"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
from benchlib import OUT, ROOT, Background, banner, header, median, prepare_bench_db, setup_django  # noqa: E402

QUEUE = "bench-simulation"


def worker(concurrency: int, name: str) -> Background:
    env = benchlib.django_env()
    env.update(
        {"CITYTWIN_SIMULATION_QUEUE": QUEUE, "CITYTWIN_DB_POOL": "0", "CITYTWIN_SCENARIO_RUNS_DIR": str(OUT / "runs")}
    )
    cmd = [ROOT / ".venv/bin/celery", "-A", "city", "worker", "-Q", QUEUE, "--concurrency", str(concurrency),
           "--max-tasks-per-child", "1", "--without-gossip", "--without-mingle", "-n", f"{name}@%h", "--loglevel", "info"]  # fmt: skip
    return Background(cmd, env=env, log_name=f"{name}.log")


def wait_ready(bg: Background) -> None:
    deadline = time.monotonic() + 60
    while "ready." not in bg.log_path.read_text(errors="replace"):
        if not bg.alive() or time.monotonic() > deadline:
            raise SystemExit(f"worker did not start:\n{bg.log_tail()}")
        time.sleep(0.2)


def run_and_wait(scenario: object) -> tuple[float, object]:
    from apps.simulation.models import ScenarioRun
    from apps.simulation.services import start_run

    started = time.perf_counter()
    run = start_run(scenario=scenario, owner=None)
    while True:
        run = ScenarioRun.objects.get(pk=run.pk)
        if run.state in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.05)
    wall = time.perf_counter() - started
    if run.state != "succeeded":
        raise SystemExit(f"run #{run.pk} {run.state}: {run.error}")
    return wall, run


def bench_network(rounds: int) -> None:
    header("Helsinki network build: export from PostGIS + netconvert (ours) vs netconvert alone on the same files")
    from apps.simulation.sumo.install import binary
    from apps.simulation.sumo.network import NETCONVERT_OPTIONS, _write_plain_xml, build_network

    ours, raw = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as root:
            started = time.perf_counter()
            net = build_network(cache_root=Path(root), force=True)
            ours.append(time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as work:
            _write_plain_xml(Path(work))
            cmd = [binary("netconvert"), "--node-files", f"{work}/nodes.nod.xml", "--edge-files",
                   f"{work}/edges.edg.xml", *NETCONVERT_OPTIONS, "-o", f"{work}/net.net.xml"]  # fmt: skip
            started = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)  # noqa: S603
            raw.append(time.perf_counter() - started)
    print(
        f"network: {net.exported_edges} segments exported, {net.net_edges} edges, {net.traffic_lights} traffic lights"
    )
    print(f"  baseline: {benchlib.shell_line(cmd)}")
    print(f"ours (build_network, force) median {median(ours):.2f} s; netconvert alone {median(raw):.2f} s; "
          f"ratio ours/netconvert {median(ours) / median(raw):.2f}x (lower is better)")  # fmt: skip


def bench_run_vs_sumo(rounds: int, window: int, period: float) -> None:
    header(f"One seed through the job system vs bare sumo on the same files ({window} s window, period {period:g} s)")
    from apps.simulation.services import create_scenario
    from apps.simulation.sumo.install import binary

    doc = {"name": "bench: one seed", "begin": 7 * 3600, "end": 7 * 3600 + window, "interval": 900,
           "demand": {"source": "random", "period": period, "seed": 1}, "seeds": [1]}  # fmt: skip
    scenario = create_scenario(document=doc, owner=None)
    with worker(1, "bench-sim-1") as bg:
        wait_ready(bg)
        warm, run = run_and_wait(scenario)  # builds the network and the demand into the caches
        print(f"warm-up run (network + demand made): {warm:.1f} s")
        seed_dir = OUT / "runs" / str(run.pk) / "seed-1"
        files = OUT / "bare-sumo"
        shutil.rmtree(files, ignore_errors=True)
        shutil.copytree(seed_dir, files)
        from apps.simulation.sumo.network import build_network
        from apps.simulation.sumo.outputs import edgedata_additional, run_options

        net = build_network().net_file
        additional = edgedata_additional(
            files / "bare.add.xml", files / "bare-edgedata.xml", 900, doc["begin"], doc["end"]
        )
        cmd = [binary("sumo"), "-n", str(net), "-r", str(files / "routes.rou.xml"), "-a", str(additional),
               "--begin", str(doc["begin"]), "--end", str(doc["end"]), "--seed", "1", "--no-step-log",
               *run_options(files / "bare-statistics.xml")]  # fmt: skip
        print(f"  baseline: {benchlib.shell_line(cmd)}")
        ours, bare = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)  # noqa: S603
            bare.append(time.perf_counter() - started)
            wall, run = run_and_wait(scenario)
            ours.append(wall)
        kpis = run.kpis
        print(f"vehicles inserted {kpis['vehicles_inserted']['mean']:.0f}, vehicle-km {kpis['vehicle_km']['mean']:.0f}")
        print(f"ours (start_run -> worker -> results stored, run succeeded) median {median(ours):.2f} s "
              f"[{', '.join(f'{v:.2f}' for v in ours)}]")  # fmt: skip
        print(f"bare sumo median {median(bare):.2f} s [{', '.join(f'{v:.2f}' for v in bare)}]")
        ratio = median(ours) / median(bare)
        print(f"ratio ours/bare {ratio:.2f}x (goal <= 1.1x: {'met' if ratio <= 1.1 else 'MISSED'})")


def bench_seeds(rounds: int, window: int, period: float) -> None:
    header("4 seeds: a worker with 2 processes vs 1")
    from apps.simulation.services import create_scenario

    doc = {"name": "bench: four seeds", "begin": 7 * 3600, "end": 7 * 3600 + window, "interval": 900,
           "demand": {"source": "random", "period": period, "seed": 1}, "seeds": [1, 2, 3, 4]}  # fmt: skip
    scenario = create_scenario(document=doc, owner=None)
    one, two = [], []
    for _ in range(rounds):
        for concurrency, box in ((1, one), (2, two)):
            with worker(concurrency, f"bench-sim-{concurrency}") as bg:
                wait_ready(bg)
                wall, _ = run_and_wait(scenario)
                box.append(wall)
    print(f"1 process: median {median(one):.1f} s [{', '.join(f'{v:.1f}' for v in one)}]")
    print(f"2 processes: median {median(two):.1f} s [{', '.join(f'{v:.1f}' for v in two)}]")
    print(f"speed-up {median(one) / median(two):.2f}x on {benchlib.machine().split(',')[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=None, help="(ignored; make bench passes it to every script)")
    parser.add_argument("--window", type=int, default=3600, help="simulated seconds")
    parser.add_argument("--period", type=float, default=1.0, help="seconds between random departures")
    args = parser.parse_args()
    banner("bench_scenario.py", "scenario runs: network build, job system vs bare sumo, seeds over workers")
    prepare_bench_db()
    os.environ["CITYTWIN_SIMULATION_QUEUE"] = QUEUE  # this process queues the seeds for the bench's workers
    setup_django()
    bench_network(args.rounds)
    bench_run_vs_sumo(args.rounds, args.window, args.period)
    bench_seeds(args.rounds, args.window, args.period)


if __name__ == "__main__":
    main()
