"""The SUMO building blocks of a scenario run, on real SUMO: network edits (netconvert), demand (randomTrips,
routeSampler) and its transform for edits, the edgeData and statistic outputs, and the calibration
statistics. On the real Bologna network (../shared/data/bologna-joined/) and on a small generated grid."""

from __future__ import annotations

import math
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from apps.simulation.sumo import calibrate
from apps.simulation.sumo.demand import DemandError, EdgeCount, counts_routes, random_routes
from apps.simulation.sumo.edits import EditError, edit_network, transform_routes
from apps.simulation.sumo.install import binary, environment
from apps.simulation.sumo.outputs import edgedata_additional, read_edgedata, read_statistics, run_options
from apps.simulation.sumo.runner import SimulationSpec, run_binary

ROOT = Path(__file__).resolve().parent.parent
BOLOGNA = ROOT.parent / "shared" / "data" / "bologna-joined" / "joined_buslanes.net.xml"


def _edges(net_file: Path) -> dict[str, ET.Element]:
    root = ET.parse(net_file).getroot()
    return {e.get("id", ""): e for e in root.iter("edge") if e.get("function") != "internal"}


def _location(net_file: Path) -> dict[str, str]:
    element = ET.parse(net_file).getroot().find("location")
    assert element is not None
    return dict(element.attrib)


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 x 4 grid of two-way, 200 m streets (edges "A0B0", "B0A0", ...): every edge has a way around."""
    net = tmp_path_factory.mktemp("grid") / "grid.net.xml"
    command = [binary("netgenerate"), "--grid", "--grid.number", "4", "--grid.length", "200", "-o", str(net)]
    subprocess.run(command, check=True, capture_output=True, env=environment())  # noqa: S603
    return net


@pytest.fixture(scope="module")
def bologna_routes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random routes on Bologna over ten minutes, one every second."""
    out = tmp_path_factory.mktemp("bologna") / "random.rou.xml"
    return random_routes(BOLOGNA, out, begin=0, end=600, period=1.0, seed=3)


# --- network edits ----------------------------------------------------------------------------------------


def test_edited_bologna_lacks_the_closed_edges_and_keeps_its_location_and_ids(tmp_path: Path) -> None:
    out = edit_network(
        BOLOGNA, tmp_path / "edited.net.xml", close={"a117", "a13"}, speed_kmh={"a104": 30}, lanes={"b2[1][0]": 2}
    )
    before, after = _edges(BOLOGNA), _edges(out)
    assert set(after) == set(before) - {"a117", "a13"}
    assert _location(out) == _location(BOLOGNA)
    lanes_a104 = after["a104"].findall("lane")
    assert [float(lane.get("speed", "0")) for lane in lanes_a104] == pytest.approx([30 / 3.6] * len(lanes_a104), 1e-3)
    assert len(before["b2[1][0]"].findall("lane")) == 3 and len(after["b2[1][0]"].findall("lane")) == 2
    # Untouched edges keep their lanes and speeds.
    for edge in ("a8", "a16", "b2[0]"):
        assert [(lane.get("id"), lane.get("speed")) for lane in after[edge].findall("lane")] == [
            (lane.get("id"), lane.get("speed")) for lane in before[edge].findall("lane")
        ]


def test_an_edit_of_an_unknown_edge_or_an_impossible_value_is_refused_by_name(tmp_path: Path) -> None:
    out = tmp_path / "edited.net.xml"
    with pytest.raises(EditError, match=r"edges not in the network joined_buslanes\.net\.xml: nope, zz"):
        edit_network(BOLOGNA, out, close={"a117", "nope"}, lanes={"zz": 2})
    with pytest.raises(EditError, match="impossible"):
        edit_network(BOLOGNA, out, close=set(), speed_kmh={"a104": -5})
    assert not out.exists()


# --- demand ---------------------------------------------------------------------------------------------


def test_random_routes_depart_in_the_window_and_repeat_per_seed(tmp_path: Path) -> None:
    first = random_routes(BOLOGNA, tmp_path / "a.rou.xml", begin=100, end=400, period=2.0, seed=5)
    again = random_routes(BOLOGNA, tmp_path / "b.rou.xml", begin=100, end=400, period=2.0, seed=5)
    other = random_routes(BOLOGNA, tmp_path / "c.rou.xml", begin=100, end=400, period=2.0, seed=6)
    departs = [float(v.get("depart", "-1")) for v in ET.parse(first).getroot().iter("vehicle")]
    assert 50 < len(departs) <= 150 and all(100 <= d < 400 for d in departs)
    routes = [[r.get("edges") for r in ET.parse(p).getroot().iter("route")] for p in (first, again, other)]
    assert routes[0] == routes[1] != routes[2]
    with pytest.raises(DemandError, match="begin < end"):
        random_routes(BOLOGNA, tmp_path / "d.rou.xml", begin=400, end=100, period=1.0, seed=5)


def _edge_counts(routes: Path, hour_of: float = 3600) -> Counter[str]:
    """Vehicles passing each edge in a route file."""
    return Counter(edge for r in ET.parse(routes).getroot().iter("route") for edge in r.get("edges", "").split())


def test_route_sampler_reproduces_counts_made_from_known_routes(tmp_path: Path, bologna_routes: Path) -> None:
    # Counts over ten minutes of a known route set, on its 40 busiest edges, rescaled to the hour fitted.
    known = _edge_counts(bologna_routes)
    counts = [EdgeCount(edge, 3600, 7200, n) for edge, n in known.most_common(40)]
    report = counts_routes(BOLOGNA, tmp_path / "fit.rou.xml", counts=counts, begin=3600, end=7200, seed=1)
    fitted = _edge_counts(report.routes)
    gehs = [calibrate.geh(c.count, fitted[c.edge_id]) for c in counts]
    assert sum(g < 5 for g in gehs) >= 0.9 * len(gehs)
    assert report.vehicles == sum(1 for _ in ET.parse(report.routes).getroot().iter("vehicle")) > 0
    assert report.geh_ok_share >= 0.9 and 0.9 <= report.count_share <= 1.0
    departs = [float(v.get("depart", "-1")) for v in ET.parse(report.routes).getroot().iter("vehicle")]
    assert all(3600 <= d < 7200 for d in departs)
    with pytest.raises(DemandError, match="counted edges not in the network: nope"):
        counts_routes(
            BOLOGNA, tmp_path / "x.rou.xml", counts=[EdgeCount("nope", 3600, 7200, 5)], begin=3600, end=7200, seed=1
        )


# --- demand transform -----------------------------------------------------------------------------------

ROUTES = """<routes>
    <vType id="car" vClass="passenger"/>
    <route id="r_south" edges="A0A1 A1A2 A2A3"/>
    <route id="r_east" edges="A0B0 B0C0"/>
    <vehicle id="embedded" depart="0" type="car"><route edges="A0A1 A1A2 A2A3"/></vehicle>
    <vehicle id="byref" depart="1" route="r_south"/>
    <vehicle id="untouched" depart="2" route="r_east"/>
    <vehicle id="starts_closed" depart="3"><route edges="A1A2 A2A3"/></vehicle>
    <trip id="trip" depart="4" from="A0B0" to="B0C0"/>
    <flow id="flow" begin="5" end="600" number="10"><route edges="A0A1 A1A2 A2A3"/></flow>
</routes>
"""


def test_a_vehicle_over_a_closed_edge_becomes_a_trip_that_sumo_routes_around(tmp_path: Path, grid: Path) -> None:
    (tmp_path / "in.rou.xml").write_text(ROUTES, encoding="utf-8")
    report = transform_routes(
        tmp_path / "in.rou.xml", tmp_path / "out.rou.xml", closed_edges={"A1A2"}, factor_for=lambda a, b: 1.0, seed=1
    )
    assert (report.read, report.written, report.dropped, report.rerouted, report.added) == (6, 5, 1, 3, 0)
    root = ET.parse(tmp_path / "out.rou.xml").getroot()
    trips = {t.get("id"): (t.get("from"), t.get("to")) for t in root.iter("trip")}
    assert trips == {"embedded": ("A0A1", "A2A3"), "byref": ("A0A1", "A2A3"), "trip": ("A0B0", "B0C0")}
    assert [(f.get("from"), f.get("to"), f.find("route")) for f in root.iter("flow")] == [("A0A1", "A2A3", None)]
    assert [v.get("id") for v in root.iter("vehicle")] == ["untouched"]
    assert [r.get("id") for r in root.iter("route")] == ["r_east"]  # r_south uses the closed edge
    assert root.find("vType") is not None

    # On the edited network SUMO routes the trips around the closed edge and every vehicle arrives.
    net = edit_network(grid, tmp_path / "closed.net.xml", close={"A1A2"})
    stats = tmp_path / "stats.xml"
    spec = SimulationSpec(net_file=net, route_files=(tmp_path / "out.rou.xml",), end_s=900, options=run_options(stats))
    run_binary(spec, report_every_s=300)
    statistics = read_statistics(stats)
    assert statistics["vehicles"]["loaded"] == statistics["vehicles"]["inserted"] == 4 + 10
    assert statistics["vehicleTripStatistics"]["count"] == 14 and statistics["teleports"]["total"] == 0


def _many(path: Path, n: int) -> Path:
    lines = ["<routes>"] + [
        f'    <vehicle id="v{i}" depart="{i}"><route edges="{"A0B0 B0C0" if i % 2 else "B0C0 C0D0"}"/></vehicle>'
        for i in range(n)
    ]
    path.write_text("\n".join([*lines, "</routes>"]), encoding="utf-8")
    return path


def test_scaling_writes_about_factor_times_the_vehicles_the_same_way_per_seed(tmp_path: Path) -> None:
    source = _many(tmp_path / "in.rou.xml", 2000)

    def scaled(seed: int, name: str, factor_for=lambda a, b: 1.5) -> tuple[object, list[tuple[str, str]]]:  # noqa: ANN001
        report = transform_routes(source, tmp_path / name, closed_edges=set(), factor_for=factor_for, seed=seed)
        vehicles = [(v.get("id", ""), v.get("depart", "")) for v in ET.parse(tmp_path / name).getroot().iter("vehicle")]
        return report, vehicles

    report, vehicles = scaled(7, "a.xml")
    # 2000 vehicles, each written once plus once more with probability 0.5: 3000 +- 4 standard deviations.
    assert abs(len(vehicles) - 3000) < 4 * math.sqrt(2000 * 0.25)
    assert report.written == len(vehicles) == 2000 + report.added  # type: ignore[attr-defined]
    assert len({v for v, _ in vehicles}) == len(vehicles)  # new ids are unique
    departs = [float(d) for _, d in vehicles]
    assert departs == sorted(departs)  # copies depart with their original: still sorted for SUMO
    assert scaled(7, "b.xml")[1] == vehicles and scaled(8, "c.xml")[1] != vehicles

    # A factor per origin: trips from A0B0 halved, the others unchanged.
    report, vehicles = scaled(7, "d.xml", factor_for=lambda first, last: 0.5 if first == "A0B0" else 1.0)
    assert abs(len(vehicles) - 1500) < 4 * math.sqrt(1000 * 0.25)
    assert report.scaled_out == 2000 - len(vehicles)  # type: ignore[attr-defined]
    with pytest.raises(DemandError, match="negative demand factor"):
        scaled(7, "e.xml", factor_for=lambda a, b: -1.0)


# --- outputs --------------------------------------------------------------------------------------------


def test_edgedata_and_statistics_of_a_real_run_add_up(tmp_path: Path, bologna_routes: Path) -> None:
    additional = edgedata_additional(tmp_path / "ed.add.xml", tmp_path / "ed.xml", 300, 0, 600)
    stats = tmp_path / "stats.xml"
    spec = SimulationSpec(
        net_file=BOLOGNA,
        route_files=(bologna_routes,),
        additional_files=(additional,),
        end_s=600,
        seed=2,
        options=run_options(stats),
    )
    run_binary(spec)
    rows = list(read_edgedata(tmp_path / "ed.xml"))
    statistics = read_statistics(stats)
    assert {(r.begin, r.end) for r in rows} == {(0, 300), (300, 600)}
    speeds = {
        e: float(lanes[0].get("speed", "0"))
        for e, lanes in ((e, x.findall("lane")) for e, x in _edges(BOLOGNA).items())
    }
    for row in rows:
        assert row.flow_veh_h == pytest.approx(row.entered * 3600 / 300)
        if row.speed is not None:
            assert 0 <= row.speed <= speeds[row.edge_id] * 1.3  # speedFactor lets a few drive over the limit
    assert sum(r.departed for r in rows) == statistics["vehicles"]["inserted"] > 300
    assert sum(r.arrived for r in rows) == statistics["vehicleTripStatistics"]["count"] > 0
    trips = statistics["vehicleTripStatistics"]
    assert trips["routeLength"] > 100 and 0 < trips["duration"] < 600 and trips["timeLoss"] >= 0


def test_an_edge_without_samples_has_no_speed_rather_than_zero(tmp_path: Path) -> None:
    (tmp_path / "ed.xml").write_text(
        '<meandata><interval begin="0.00" end="900.00" id="t">'
        '<edge id="empty" sampledSeconds="0.00" departed="0" arrived="0" entered="0" left="0"/>'
        '<edge id="busy" sampledSeconds="120" traveltime="12.5" density="3.2" occupancy="1.5" waitingTime="4"'
        ' timeLoss="6" speed="8.1" departed="1" arrived="0" entered="9" left="10"/></interval></meandata>',
        encoding="utf-8",
    )
    empty, busy = read_edgedata(tmp_path / "ed.xml")
    assert (empty.edge_id, empty.speed, empty.traveltime, empty.density, empty.flow_veh_h) == (
        "empty",
        None,
        None,
        None,
        0,
    )
    assert (busy.speed, busy.traveltime, busy.waiting_time, busy.flow_veh_h, busy.passed) == (8.1, 12.5, 4, 36, 10)


# --- calibration ----------------------------------------------------------------------------------------


def test_geh_known_values() -> None:
    assert calibrate.geh(500, 500) == 0 and calibrate.geh(0, 0) == 0
    assert calibrate.geh(1000, 1100) == pytest.approx(math.sqrt(2 * 100**2 / 2100))  # 3.09: acceptable
    assert calibrate.geh(100, 150) == pytest.approx(math.sqrt(20))  # 4.47
    assert calibrate.geh(100, 200) == pytest.approx(8.165, abs=1e-3)
    with pytest.raises(ValueError, match="negative"):
        calibrate.geh(-1, 10)


def test_r2_is_the_squared_correlation_and_the_summary_counts_geh_below_5() -> None:
    assert calibrate.r2([(1, 3), (2, 5), (3, 7)]) == pytest.approx(1.0)  # any line: perfect correlation
    assert calibrate.r2([(1, 1), (2, 3), (3, 2)]) == pytest.approx(0.25)
    assert calibrate.r2([(1, 1)]) is None and calibrate.r2([(1, 2), (1, 3)]) is None
    share, r2, count = calibrate.summary([(1000, 1100), (100, 200), (400, 390), (0, 0)])
    assert (share, count) == (0.75, 4) and r2 is not None
    assert calibrate.summary([]) == (None, None, 0)
