"""import_sumo_network on real georeferenced SUMO networks (Bologna, and one shipped in the eclipse-sumo
wheel), cross-checked against sumolib; refused nets (no projection, hostile XML) leave nothing behind."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
import sumolib
from django.core.management import CommandError, call_command

from apps.imports.models import ImportRun, ImportState
from apps.roads.models import RoadNode, RoadSegment
from tests.loader.hostile_files import Canary, canary_server

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
BOLOGNA = ROOT / ".." / "shared" / "data" / "bologna-joined" / "joined_buslanes.net.xml"


def sumo_game_net(name: str) -> Path:
    import sumo

    return Path(sumo.SUMO_HOME) / "tools" / "game" / name


def run(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_sumo_network", str(path), *args, stdout=out)
    return out.getvalue()


def report_row(printed: str, kind: str) -> list[int]:
    """The numbers of one kind's line of the report: read, created, updated, unchanged, ..."""
    line = next(line for line in printed.splitlines() if line.startswith(kind + " "))
    return [int(n) for n in line.split()[1:]]


def raw_lonlat(net: sumolib.net.Net, edge_id: str) -> list[tuple[float, float]]:
    return [net.convertXY2LonLat(x, y) for x, y in net.getEdge(edge_id).getRawShape()]


def test_bologna_net_becomes_the_road_graph_with_its_own_ids_and_reimports_unchanged() -> None:
    net = sumolib.net.readNet(str(BOLOGNA), withInternal=False)
    edges, junctions = net.getEdges(), net.getNodes()
    assert (len(edges), len(junctions)) == (267, 158)  # as the data's README says

    printed = run(BOLOGNA, "--name", "bologna")

    assert report_row(printed, "road_nodes")[:4] == [158, 158, 0, 0]
    assert report_row(printed, "roads")[:4] == [267, 267, 0, 0]
    segments = RoadSegment.objects.filter(source="bologna")
    assert set(segments.values_list("source_id", flat=True)) == {e.getID() for e in edges}
    assert set(RoadNode.objects.filter(source="bologna").values_list("source_id", flat=True)) == {
        j.getID() for j in junctions
    }
    # Every segment joins the graph at the junctions the net names.
    joined = {
        (s.source_id, s.from_node.source_id, s.to_node.source_id)
        for s in segments.select_related("from_node", "to_node")
    }
    assert joined == {(e.getID(), e.getFromNode().getID(), e.getToNode().getID()) for e in edges}

    # A known edge (a10: one lane at 13.89 m/s, with a shape) lands in Bologna where sumolib puts it.
    a10 = segments.get(source_id="a10")
    expected = raw_lonlat(net, "a10")
    assert len(a10.geom.coords) == len(expected) == 5
    for (lon, lat), (elon, elat) in zip(a10.geom.coords, expected, strict=True):
        assert lon == pytest.approx(elon, abs=1e-7) and lat == pytest.approx(elat, abs=1e-7)
    assert 11.2 < lon < 11.4 and 44.45 < lat < 44.53
    assert a10.lanes == net.getEdge("a10").getLaneNumber() == 1
    assert a10.maxspeed_kmh == pytest.approx(13.89 * 3.6, abs=0.01)
    assert a10.tags["priority"] == -1 and a10.highway == "road"
    # An edge without a shape runs from its from-junction to its to-junction.
    a1 = segments.get(source_id="a1")
    assert a1.geom.coords[0] == pytest.approx(net.convertXY2LonLat(*net.getNode("a1b").getCoord()), abs=1e-7)
    assert a1.from_node.geom.coords == pytest.approx(a1.geom.coords[0], abs=1e-9)
    assert RoadNode.objects.get(source="bologna", source_id="a1").traffic_signals

    again = run(BOLOGNA, "--name", "bologna")

    assert report_row(again, "road_nodes")[:4] == [158, 0, 0, 158]
    assert report_row(again, "roads")[:4] == [267, 0, 0, 267]
    runs = ImportRun.objects.filter(options__format="sumo_net").order_by("pk")
    assert [r.state for r in runs] == [ImportState.SUCCEEDED] * 2 and runs[0].source_name == BOLOGNA.name


def test_the_source_defaults_to_the_file_name_and_dry_run_writes_nothing() -> None:
    printed = run(BOLOGNA, "--dry-run")

    assert report_row(printed, "roads")[:2] == [267, 267] and "Dry run: nothing was written." in printed
    assert not RoadSegment.objects.filter(source="joined_buslanes").exists()
    run(BOLOGNA)
    assert RoadSegment.objects.filter(source="joined_buslanes").count() == 267


def test_an_osm_built_net_shipped_with_sumo_lands_where_sumolib_puts_it() -> None:
    path = sumo_game_net("highway/highway.net.xml")
    assert 'projParameter="+proj=utm' in path.read_text()
    net = sumolib.net.readNet(str(path), withInternal=False)

    printed = run(path, "--name", "game-highway")

    assert report_row(printed, "roads")[:2] == [len(net.getEdges())] * 2
    assert report_row(printed, "road_nodes")[:2] == [len(net.getNodes())] * 2
    edge = net.getEdge("145354574")  # a motorway with a five-point shape
    assert len(edge.getRawShape()) == 5
    stored = RoadSegment.objects.get(source="game-highway", source_id=edge.getID())
    for got, want in zip(stored.geom.coords, raw_lonlat(net, edge.getID()), strict=True):
        assert got == pytest.approx(want, abs=1e-7)
    assert stored.highway == edge.getType().removeprefix("highway.") == "motorway"
    assert stored.lanes == edge.getLaneNumber() and stored.maxspeed_kmh == pytest.approx(
        edge.getSpeed() * 3.6, abs=0.01
    )
    assert stored.from_node.source_id == edge.getFromNode().getID()


def test_junction_ids_longer_than_the_column_are_shortened_stably_and_still_join_the_graph() -> None:
    path = sumo_game_net("DRT/osm.net.xml")  # an OSM-built Berlin net with two joined clusters of 131+ chars
    net = sumolib.net.readNet(str(path), withInternal=False)
    long_ids = {j.getID() for j in net.getNodes() if len(j.getID()) > 128}
    assert len(long_ids) == 2

    printed = run(path, "--name", "drt")

    assert report_row(printed, "road_nodes")[:2] == [len(net.getNodes())] * 2
    assert report_row(printed, "roads")[:2] == [len(net.getEdges())] * 2
    assert not RoadSegment.objects.filter(source="drt", from_node__isnull=True).exists()
    assert not RoadSegment.objects.filter(source="drt", to_node__isnull=True).exists()
    shortened = RoadNode.objects.filter(source="drt", tags__has_key="sumo_id")
    assert {n.tags["sumo_id"] for n in shortened} == long_ids
    assert all(len(n.source_id) == 128 for n in shortened)
    for node in shortened:
        edges = {e.getID() for e in net.getNode(node.tags["sumo_id"]).getOutgoing()}
        assert set(node.outgoing.values_list("source_id", flat=True)) == edges
    again = run(path, "--name", "drt")
    assert report_row(again, "road_nodes")[1:4] == [0, 0, len(net.getNodes())]


def _with_location(tmp_path: Path, replacement: str) -> Path:
    text = BOLOGNA.read_text(encoding="utf-8")
    text, n = re.subn(r"<location [^>]*/>", replacement, text, count=1)
    assert n == 1
    path = tmp_path / "flat.net.xml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("location", "says"),
    [
        ('<location netOffset="0.00,0.00" convBoundary="0,0,10,10" projParameter="!"/>', 'projParameter="!"'),
        ('<location netOffset="0.00,0.00" convBoundary="0,0,10,10"/>', 'projParameter=""'),
        ("", "has no <location> element"),
    ],
)
def test_a_net_without_georeference_is_refused_naming_the_file(tmp_path: Path, location: str, says: str) -> None:
    path = _with_location(tmp_path, location)

    with pytest.raises(CommandError) as exc:
        run(path, "--name", "flat")

    message = str(exc.value)
    assert message.startswith("flat.net.xml: the network is not georeferenced") and says in message
    assert not RoadSegment.objects.filter(source="flat").exists()
    assert ImportRun.objects.get(source_name="flat.net.xml").state == ImportState.FAILED


@pytest.fixture
def canary() -> Iterator[Canary]:
    """An HTTP server on 127.0.0.1 (free port) that records any request: an XML reader fetching a URL."""
    with canary_server("sumo-canary") as server:
        yield server


def _hostile_net(
    tmp_path: Path, prolog: str, name_attr: str = "", proj: str = "+proj=utm +zone=32 +datum=WGS84"
) -> Path:
    path = tmp_path / "hostile.net.xml"
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}\n<net version="1.20">\n'
        f'  <location netOffset="-683195.58,-4928877.56" projParameter="{proj}"/>\n'
        f'  <edge id="e1" from="j1" to="j2" priority="1"{name_attr}>\n'
        '    <lane id="e1_0" index="0" speed="13.89" length="100" shape="0,0 100,0"/>\n'
        "  </edge>\n"
        '  <junction id="j1" type="priority" x="0" y="0"/>\n  <junction id="j2" type="priority" x="100" y="0"/>\n'
        "</net>\n",
        encoding="utf-8",
    )
    return path


def test_the_hostile_net_builder_makes_a_net_that_loads(tmp_path: Path) -> None:
    run(_hostile_net(tmp_path, "", ' name="Via Test"'), "--name", "benign")
    assert RoadSegment.objects.get(source="benign", source_id="e1").name == "Via Test"


def test_external_entities_and_dtds_are_refused_without_reading_a_file_or_the_network(
    tmp_path: Path, canary: Canary
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    cases = {
        "file entity": (f'<!DOCTYPE net [<!ENTITY xxe SYSTEM "file://{secret}">]>', ' name="&xxe;"'),
        "url entity": (f'<!DOCTYPE net [<!ENTITY xxe SYSTEM "{canary.url}/entity">]>', ' name="&xxe;"'),
        "external dtd": (f'<!DOCTYPE net SYSTEM "{canary.url}/net.dtd">', ""),
        "parameter entity": (f'<!DOCTYPE net [<!ENTITY % p SYSTEM "{canary.url}/p.dtd"> %p;]>', ""),
        "billion laughs": (
            '<!DOCTYPE net [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
            ' name="&c;"',
        ),
    }
    for case, (prolog, name_attr) in cases.items():
        with pytest.raises(CommandError, match="hostile.net.xml: line 2: has a DOCTYPE or entity declaration"):
            run(_hostile_net(tmp_path, prolog, name_attr), "--name", "hostile")
        assert not RoadSegment.objects.filter(source="hostile").exists(), case
    # An entity used without a declaration is not well-formed XML.
    with pytest.raises(CommandError, match="hostile.net.xml: is not well-formed XML"):
        run(_hostile_net(tmp_path, "", ' name="&xxe;"'), "--name", "hostile")
    assert canary.hits == []
    assert not RoadSegment.objects.filter(name__contains="SECRET").exists()


def test_projections_that_could_read_files_or_urls_are_refused(tmp_path: Path, canary: Canary) -> None:
    for proj, bad in [
        (f"+init={tmp_path}/epsg:1", "+init="),
        (f"+proj=utm +zone=32 +nadgrids=@{canary.url}/grid.tif", "+nadgrids="),
        ("+proj=utm +zone=32 +geoidgrids=/etc/passwd", "+geoidgrids="),
    ]:
        with pytest.raises(CommandError, match=re.escape(f"hostile.net.xml: projParameter has '{bad}")):
            run(_hostile_net(tmp_path, "", proj=proj), "--name", "hostile")
    assert canary.hits == []
    # The EPSG forms netconvert also writes are read.
    run(_hostile_net(tmp_path, "", proj="EPSG:32632"), "--name", "epsg")
    (lon, lat) = RoadNode.objects.get(source="epsg", source_id="j1").geom.coords
    assert 11.2 < lon < 11.4 and 44.45 < lat < 44.53


def test_gzipped_nets_are_read_and_broken_ones_refused(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "bologna.net.xml.gz"
    path.write_bytes(gzip.compress(BOLOGNA.read_bytes()))
    assert report_row(run(path), "roads")[:2] == [267, 267]

    path.write_bytes(gzip.compress(BOLOGNA.read_bytes())[:5000])
    with pytest.raises(CommandError, match=r"^bologna\.net\.xml\.gz: (cannot be read|is not well-formed)"):
        run(path, "--name", "truncated")
    not_a_net = tmp_path / "osm.net.xml"
    not_a_net.write_text('<?xml version="1.0"?><osm version="0.6"/>')
    with pytest.raises(CommandError, match=r"osm\.net\.xml: is not a SUMO network: its root element is <osm>"):
        run(not_a_net)
    assert os.path.exists(BOLOGNA)
