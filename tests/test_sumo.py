"""The SUMO package with real components: netconvert and sumolib on the stored Helsinki road graph, and the
runner (libsumo in this process, the sumo binary as a child) on that network with its progress and cancel
callbacks."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from apps.simulation.sumo.demand import route_pool
from apps.simulation.sumo.detectors import EdgeData, InductionLoop, write_additional
from apps.simulation.sumo.network import (
    DRIVABLE,
    SumoNetwork,
    build_network,
    drivable_segment_count,
    edge_id,
    segment_id_of,
)
from apps.simulation.sumo.runner import (
    RunOutcome,
    SimulationBusy,
    SimulationSpec,
    SumoError,
    libsumo_session,
    run_binary,
    run_libsumo,
)

pytestmark = pytest.mark.django_db

# netconvert keeps a stored drivable segment unless it is isolated (--remove-edges.isolated): on the
# Helsinki extract it keeps 2,319 of 2,333 (99.4 %): service-road fragments cut by the extract's border.
MIN_KEPT_SHARE = 0.9


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine distance: plenty for a 1 m tolerance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def test_the_network_is_the_stored_road_graph(sumo_network: SumoNetwork, sumo_cache: Path) -> None:
    network = sumo_network
    import sumolib

    from apps.roads.models import RoadNode, RoadSegment

    assert network.net_file.exists() and network.built
    location = next(sumolib.xml.parse_fast(str(network.net_file), "location", ["projParameter"]))
    assert "+proj=utm" in location.projParameter

    net = sumolib.net.readNet(str(network.net_file))
    edges = net.getEdges(withInternal=False)
    assert len(edges) == network.net_edges
    drivable = set(RoadSegment.objects.filter(highway__in=DRIVABLE).values_list("id", flat=True))
    assert network.exported_edges == drivable_segment_count() == len(drivable)
    # Every SUMO edge is a stored drivable segment; netconvert drops only isolated fragments.
    assert {segment_id_of(e.getID()) for e in edges} <= drivable
    assert network.net_edges >= MIN_KEPT_SHARE * len(drivable)
    # Direction and attributes survive: a segment's edge runs between its nodes, with its lanes.
    for segment in RoadSegment.objects.filter(id__in=[segment_id_of(e.getID()) for e in edges[:200]]):
        edge = net.getEdge(edge_id(segment.id))
        assert (edge.getFromNode().getID(), edge.getToNode().getID()) == (
            f"n{segment.from_node_id}",
            f"n{segment.to_node_id}",
        )
        assert edge.getLaneNumber() == (segment.lanes or 1)

    # Nodes keep their place: convert SUMO's UTM coordinates back and compare with the stored points.
    node_ids = sorted(int(n.getID()[1:]) for n in net.getNodes() if n.getID().startswith("n"))[::25]
    stored = {n.id: n.geom for n in RoadNode.objects.filter(id__in=node_ids)}
    assert len(stored) == len(node_ids) > 40
    for nid in node_ids:
        x, y = net.getNode(f"n{nid}").getCoord()
        lon, lat = net.convertXY2LonLat(x, y)
        assert _metres(lon, lat, stored[nid].x, stored[nid].y) < 1.0, nid

    # Unchanged graph: the cached network is reused.
    again = build_network(cache_root=sumo_cache)
    assert (again.built, again.network_hash, again.net_edges) == (False, network.network_hash, network.net_edges)


# --- the runner ------------------------------------------------------------------------------------------

REPORT_EVERY_S = 60.0
END_S = 600.0


def _spec(network: SumoNetwork, directory: Path) -> SimulationSpec:
    """Ten simulated minutes of the demo city's random routes (seed 42: the demo feed's pool), with an
    edgeData output per minute: SUMO writes it itself and closes it only on a clean end."""
    routes = route_pool(network, seed=42)
    additional = write_additional(
        directory / "run.add.xml", edge_data=[EdgeData("traffic", directory / "edges.xml", REPORT_EVERY_S)]
    )
    return SimulationSpec(
        net_file=network.net_file,
        route_files=(routes,),
        additional_files=(additional,),
        end_s=END_S,
        seed=1,
        options=("--no-warnings", "--ignore-route-errors"),
    )


def _intervals(directory: Path) -> list[float]:
    """The ends of the edgeData intervals SUMO wrote; parsing fails if SUMO left the file unfinished."""
    root = ET.parse(directory / "edges.xml").getroot()  # noqa: S314 - SUMO's own output of this test
    return [float(interval.get("end", "nan")) for interval in root.iter("interval")]


def _cancel_after(reports: int, progress: list[tuple[float, float]]) -> tuple[list[int], Callable[[], bool]]:
    """A cancel check that says yes once `reports` progress reports came in; records what it saw."""
    checks: list[int] = []

    def cancelled() -> bool:
        checks.append(len(progress))
        return len(progress) >= reports

    return checks, cancelled


@pytest.mark.parametrize("run", [run_libsumo, run_binary], ids=["libsumo", "binary"])
def test_the_runner_reports_progress_to_the_end(sumo_network: SumoNetwork, tmp_path: Path, run) -> None:  # noqa: ANN001
    progress: list[tuple[float, float]] = []
    outcome = run(
        _spec(sumo_network, tmp_path),
        progress=lambda now, end: progress.append((now, end)),
        cancelled=lambda: False,
        report_every_s=REPORT_EVERY_S,
    )
    assert isinstance(outcome, RunOutcome)
    assert (outcome.sim_time_s, outcome.cancelled) == (END_S, False)
    # One report per minute of simulated time, increasing, each with the run's end, the last at the end.
    assert progress == [(REPORT_EVERY_S * i, END_S) for i in range(1, 11)]
    assert _intervals(tmp_path) == [REPORT_EVERY_S * i for i in range(1, 11)]


@pytest.mark.parametrize("run", [run_libsumo, run_binary], ids=["libsumo", "binary"])
def test_cancel_stops_the_run_early_and_cleanly(sumo_network: SumoNetwork, tmp_path: Path, run) -> None:  # noqa: ANN001
    progress: list[tuple[float, float]] = []
    checks, cancelled = _cancel_after(3, progress)
    outcome = run(
        _spec(sumo_network, tmp_path),
        progress=lambda now, end: progress.append((now, end)),
        cancelled=cancelled,
        report_every_s=REPORT_EVERY_S,
    )
    assert outcome.cancelled
    # Stopped at the check after the third report, not at the end.
    assert outcome.sim_time_s == 3 * REPORT_EVERY_S < END_S
    assert progress == [(REPORT_EVERY_S * i, END_S) for i in range(1, 4)]
    assert checks == [1, 2, 3]
    # Cleanly: SUMO closed its outputs (the file parses) and wrote nothing past the cancel.
    assert _intervals(tmp_path) == [REPORT_EVERY_S * i for i in range(1, 4)]


def test_libsumo_runs_one_simulation_per_process_and_frees_it(sumo_network: SumoNetwork, tmp_path: Path) -> None:
    spec = _spec(sumo_network, tmp_path)
    with libsumo_session(spec) as sim:
        sim.simulationStep(10.0)
        with pytest.raises(SimulationBusy):
            run_libsumo(spec)
        assert sim.simulation.getTime() == 10.0  # the refused start left the running one alone

    def broken(now: float, end: float) -> None:
        raise RuntimeError("the progress store is down")

    # A callback's error reaches the caller as it is, and SUMO is closed behind it: the next run starts.
    with pytest.raises(RuntimeError, match="the progress store is down"):
        run_libsumo(spec, progress=broken, report_every_s=REPORT_EVERY_S)
    progress: list[tuple[float, float]] = []
    outcome = run_libsumo(spec, progress=lambda now, end: progress.append((now, end)), report_every_s=300.0)
    assert (outcome.sim_time_s, progress) == (END_S, [(300.0, END_S), (600.0, END_S)])


@pytest.mark.parametrize("run", [run_libsumo, run_binary], ids=["libsumo", "binary"])
def test_a_refused_start_is_a_readable_error(sumo_network: SumoNetwork, tmp_path: Path, run) -> None:  # noqa: ANN001
    missing = tmp_path / "missing.add.xml"
    spec = SimulationSpec(net_file=sumo_network.net_file, additional_files=(missing,), end_s=60.0)
    with pytest.raises(SumoError, match=f"SUMO input not found: {missing}"):
        run(spec)

    # A loop on a lane the network does not have: SUMO refuses it. The binary's error reads as SUMO's own
    # message; libsumo's goes to stderr only, and the error says so.
    bad = write_additional(tmp_path / "bad.add.xml", loops=[InductionLoop("x", "no_such_edge_0", 1.0, 60.0)])
    spec = SimulationSpec(net_file=sumo_network.net_file, additional_files=(bad,), end_s=60.0)
    expected = "stderr" if run is run_libsumo else "The lane with the id 'no_such_edge_0' is not known"
    with pytest.raises(SumoError, match=f"SUMO refused to start.*{expected}"):
        run(spec)
