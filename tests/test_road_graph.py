"""Roads from generic files (GeoJSON here) join the routable graph: nodes at shared ends within the
tolerance, two-way roads as two directed segments (<id>#fwd, <id>#rev), one-way ones as one."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.imports.services import run_import
from apps.roads.models import RoadNode, RoadSegment
from tests.loader.hostile_files import feature, write_geojson

pytestmark = pytest.mark.django_db

LON, LAT = 24.95, 60.165
D = 0.002  # about 110 m east-west, 220 m north-south
NEAR = 0.2 / 111_320  # 0.2 m of latitude: inside the 0.5 m tolerance


def line(*points: tuple[float, float]) -> dict[str, object]:
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


def t_junction(**stem: object) -> list[dict[str, object]]:
    """West and east arms meeting at the centre, two-way; the stem drawn from (0.2 m off) the centre to
    the south, one-way against its drawing (oneway=-1): traffic runs south -> centre."""
    return [
        feature("west", line((LON - D, LAT), (LON, LAT)), highway="secondary", lanes=4, name="West"),
        feature("east", line((LON, LAT), (LON + D, LAT)), highway="secondary", oneway="no"),
        feature("stem", line((LON, LAT + NEAR), (LON, LAT - D)), highway="residential", **({"oneway": "-1"} | stem)),
    ]


def test_a_t_junction_of_lines_becomes_a_directed_graph_sharing_its_middle_node(tmp_path: Path) -> None:
    result = run_import(path=write_geojson(tmp_path / "tee.geojson", t_junction()), kind="roads")

    assert (result.counts["roads"].read, result.counts["roads"].created) == (3, 5)
    assert (result.counts["road_nodes"].read, result.counts["road_nodes"].created) == (4, 4)
    segments = {s.source_id: s for s in RoadSegment.objects.filter(source="tee").select_related("from_node", "to_node")}
    assert set(segments) == {"west#fwd", "west#rev", "east#fwd", "east#rev", "stem"}
    assert RoadNode.objects.filter(source="tee").count() == 4
    centre = segments["west#fwd"].to_node
    # The one node in the middle is every arm's end, the stem's despite its 0.2 m gap.
    assert centre == segments["west#rev"].from_node == segments["east#fwd"].from_node == segments["east#rev"].to_node
    assert centre == segments["stem"].to_node
    assert centre.geom.distance(segments["stem"].geom) < 1e-5
    # Directions: each segment's line runs from its from-node to its to-node.
    for s in segments.values():
        assert s.from_node != s.to_node
        assert s.geom.coords[0] == pytest.approx(s.from_node.geom.coords, abs=1e-5)
        assert s.geom.coords[-1] == pytest.approx(s.to_node.geom.coords, abs=1e-5)
    assert segments["west#fwd"].geom.coords[0] == pytest.approx((LON - D, LAT))
    assert segments["west#rev"].geom.coords[0] == pytest.approx((LON, LAT))
    # oneway=-1: the stem was drawn centre -> south, so it is stored south -> centre.
    assert segments["stem"].geom.coords[0] == pytest.approx((LON, LAT - D)) and segments["stem"].oneway
    assert not segments["west#fwd"].oneway and not segments["east#rev"].oneway
    # lanes=4 on a two-way road: 2 each way.
    assert segments["west#fwd"].lanes == segments["west#rev"].lanes == 2 and segments["west#rev"].name == "West"

    again = run_import(path=write_geojson(tmp_path / "tee.geojson", t_junction()), kind="roads")

    assert (again.counts["roads"].created, again.counts["roads"].updated, again.counts["roads"].unchanged) == (0, 0, 5)
    assert (again.counts["road_nodes"].created, again.counts["road_nodes"].unchanged) == (0, 4)


def test_replace_drops_what_is_gone_and_follows_a_road_that_changes_direction(tmp_path: Path) -> None:
    run_import(path=write_geojson(tmp_path / "tee.geojson", t_junction()), kind="roads")
    centre = RoadSegment.objects.get(source="tee", source_id="stem").to_node
    features = t_junction(oneway="yes")[:1] + t_junction(oneway="yes")[2:]  # east is gone; stem along its line

    result = run_import(path=write_geojson(tmp_path / "tee.geojson", features), kind="roads", replace=True)

    roads = result.counts["roads"]
    assert (roads.deleted, roads.updated, roads.unchanged) == (2, 1, 2)  # east#fwd and east#rev; the stem
    stored = {s.source_id: s for s in RoadSegment.objects.filter(source="tee")}
    assert set(stored) == {"west#fwd", "west#rev", "stem"}
    assert stored["stem"].geom.coords[0] == pytest.approx((LON, LAT + NEAR)) and stored["stem"].from_node == centre
    assert stored["west#fwd"].to_node == centre  # the junction keeps its node though a road left it
    assert result.counts["road_nodes"].deleted == 1  # the east end
    assert RoadNode.objects.filter(source="tee").count() == 3


def test_a_split_id_that_another_row_has_rejects_that_row(tmp_path: Path) -> None:
    features = [
        feature("a", line((LON, LAT), (LON + D, LAT))),
        feature("a#rev", line((LON, LAT), (LON, LAT + D)), oneway="yes"),
        feature("b", line((LON, LAT), (LON - D, LAT)), oneway="sometimes"),
    ]

    result = run_import(path=write_geojson(tmp_path / "clash.geojson", features), kind="roads")

    (rejected,) = [i for i in result.issues if i.action == "rejected"]
    assert (rejected.row, rejected.feature_id) == (2, "a#rev")
    assert rejected.reason == "duplicate id a#rev once two-way roads are split into #fwd/#rev (first at row 1)"
    (warning,) = [i for i in result.issues if i.action == "warning"]
    assert (warning.feature_id, warning.field) == ("b", "oneway") and "taken as two-way" in warning.reason
    stored = set(RoadSegment.objects.filter(source="clash").values_list("source_id", flat=True))
    assert stored == {"a#fwd", "a#rev", "b#fwd", "b#rev"}
    assert RoadSegment.objects.get(source="clash", source_id="a#rev").geom.coords[0] == pytest.approx((LON + D, LAT))
