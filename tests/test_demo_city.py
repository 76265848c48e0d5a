"""The demo city against its source: every building, road way and street lamp of the real Helsinki PBF is
either stored or reported, counted independently here with pyosmium."""

from __future__ import annotations

from functools import cache

import osmium
import pytest
from django.contrib.gis.geos import Point
from django.db import connection

from apps.buildings.models import Building, HeightSource
from apps.districts.models import District
from apps.imports.management.commands.load_city import demo_city_path
from apps.imports.models import ImportRun, ImportState
from apps.roads.models import RoadNode, RoadSegment

pytestmark = pytest.mark.django_db
NOT_NETWORK = {"platform", "construction", "proposed", "abandoned", "razed", "no", "planned", "raceway"}


@cache
def source_counts() -> dict[str, object]:
    class Scan(osmium.SimpleHandler):
        def __init__(self) -> None:
            super().__init__()
            self.nodes: set[int] = set()
            self.lamps = 0
            self.building_ways: set[int] = set()
            self.building_relations: dict[int, list[int]] = {}
            self.road_ways: set[int] = set()
            self.oneway_ways: set[int] = set()

        def node(self, n) -> None:  # noqa: ANN001
            self.nodes.add(n.id)
            if n.tags.get("highway") == "street_lamp":
                self.lamps += 1

        def way(self, w) -> None:  # noqa: ANN001
            if "building" in w.tags:
                self.building_ways.add(w.id)
            present = sum(1 for r in w.nodes if r.ref in self.nodes)
            if (
                "highway" in w.tags
                and present >= 2
                and w.tags.get("area") != "yes"
                and w.tags["highway"] not in NOT_NETWORK
            ):
                self.road_ways.add(w.id)
                if w.tags.get("oneway") == "yes":
                    self.oneway_ways.add(w.id)

        def relation(self, r) -> None:  # noqa: ANN001
            if "building" in r.tags and r.tags.get("type") == "multipolygon":
                self.building_relations[r.id] = [m.ref for m in r.members if m.type == "w"]

    scan = Scan()
    scan.apply_file(str(demo_city_path()))
    return vars(scan)


def demo_run() -> ImportRun:
    return ImportRun.objects.filter(source_name="Helsinki.osm.pbf", state=ImportState.SUCCEEDED).earliest("created_at")


def test_every_building_of_the_pbf_is_stored_or_reported() -> None:
    src = source_counts()
    run = demo_run()
    stored = set(Building.objects.filter(source="osm").values_list("source_id", flat=True))
    rejected = {e["feature_id"] for e in run.errors if e["layer"] == "buildings" and e["action"] == "rejected"}
    members = {w for ws in src["building_relations"].values() for w in ws}
    expected = {f"way/{w}" for w in src["building_ways"] - members} | {
        f"relation/{r}" for r in src["building_relations"]
    }
    # Ways that are members of a building relation are loaded as that relation.
    assert stored | rejected == expected
    assert not stored & rejected
    assert (
        len(stored) == 483
        and run.counts["buildings"]["created"] + run.counts["buildings"]["rejected"] == run.counts["buildings"]["read"]
    )
    assert Building.objects.filter(osm_type="relation").count() > 50  # multipolygon relations are loaded


def test_every_road_way_is_in_the_graph_and_directions_follow_oneway() -> None:
    src = source_counts()
    ways = set(RoadSegment.objects.filter(source="osm").values_list("osm_way_id", flat=True).distinct())
    assert ways == src["road_ways"]
    oneway = RoadSegment.objects.filter(osm_way_id__in=src["oneway_ways"])
    assert oneway.exists() and not oneway.filter(source_id__endswith="/b").exists()
    two_way = RoadSegment.objects.filter(source="osm", oneway=False)
    assert two_way.filter(source_id__endswith="/f").count() == two_way.filter(source_id__endswith="/b").count()


def test_the_road_graph_is_consistent() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM roads_roadsegment s
               JOIN roads_roadnode a ON a.id = s.from_node_id JOIN roads_roadnode b ON b.id = s.to_node_id
               WHERE s.source = 'osm'
                 AND ST_Equals(ST_StartPoint(s.geom), a.geom) AND ST_Equals(ST_EndPoint(s.geom), b.geom)"""
        )
        consistent = cursor.fetchone()[0]
    assert consistent == RoadSegment.objects.filter(source="osm").count() > 8000
    # Nodes are junctions or dead ends: none sits in the middle of a single way with exactly 2 segments.
    assert RoadNode.objects.filter(source="osm").count() < RoadSegment.objects.filter(source="osm").count()
    segment = RoadSegment.objects.filter(source="osm", highway="primary").first()
    assert segment.length_m > 0 and segment.maxspeed_kmh in (30.0, 40.0, 50.0)


def test_street_lamps_match_the_pbf() -> None:
    from apps.assets.models import UtilityAsset

    assert UtilityAsset.objects.filter(source="osm", kind="street_lamp").count() == source_counts()["lamps"] == 586
    assert (
        UtilityAsset.objects.filter(kind="pipeline").exclude(geom__isvalid=False).first().geom.geom_type == "LineString"
    )


def test_heights_follow_the_documented_rule() -> None:
    tagged = Building.objects.filter(source="osm", height_source=HeightSource.TAG)
    levels = Building.objects.filter(source="osm", height_source=HeightSource.LEVELS)
    assert tagged.exists() and levels.exists()
    for b in levels:
        assert b.height_m == b.levels * 3.0
    for b in tagged:
        assert float(str(b.tags["height"]).split()[0]) == pytest.approx(b.height_m, rel=0.01)


def test_districts_fall_back_to_a_grid_covering_every_building() -> None:
    grid = District.objects.filter(level="grid")
    assert grid.count() >= 4
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM buildings_building b WHERE b.source = 'osm' AND NOT EXISTS "
            "(SELECT 1 FROM districts_district d WHERE d.level = 'grid' AND ST_Intersects(d.geom, b.geom))"
        )
        assert cursor.fetchone()[0] == 0
    assert grid.filter(name__regex=r"^Grid [A-Z]\d+$").count() == grid.count()


def test_nodes_with_signals_are_flagged() -> None:
    node = RoadNode.objects.filter(traffic_signals=True).first()
    assert node is not None
    from apps.assets.models import UtilityAsset

    signals = UtilityAsset.objects.filter(kind="traffic_signals")
    assert (
        signals.filter(geom__dwithin=(node.geom, 0.0005)).exists()
        or signals.filter(geom=Point(node.geom.coords, srid=4326)).exists()
    )
