"""A SUMO network built from the STORED road graph (not from an OSM file), so that what SUMO simulates is
exactly the city the twin shows: every stored drivable RoadSegment becomes one SUMO edge "seg<id>" and
every RoadNode one SUMO node "n<id>". Sensors linked to a segment therefore find their edge by id.

The stored segments are already directed (a two-way street is two segments), so no edge is mirrored here.
netconvert reads plain XML in lon/lat and projects it to UTM (`--proj.utm`); the net's <location> keeps
the projection, so sumolib and libsumo convert back to lon/lat.

Builds are cached under conf.cache_root()/<hash>/, the hash covering every stored attribute the export
reads plus the export's own options: a reload that changes nothing reuses the net, any change rebuilds.
The demo feed and scenario runs use the same build."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from django.db import connection

from .. import conf
from .install import binary

log = logging.getLogger(__name__)

# Bump when the export or the netconvert options change: every cached network is then rebuilt.
EXPORT_VERSION = 1


@dataclass(frozen=True)
class RoadClass:
    """How SUMO should treat an OSM highway class when the segment itself does not say."""

    speed_kmh: float  # when the segment has no maxspeed (Finnish defaults for built-up areas)
    priority: int  # right of way at unsignalled junctions: higher wins


DRIVABLE: dict[str, RoadClass] = {
    "motorway": RoadClass(100, 14),
    "trunk": RoadClass(80, 13),
    "primary": RoadClass(50, 12),
    "secondary": RoadClass(50, 11),
    "tertiary": RoadClass(40, 10),
    "motorway_link": RoadClass(60, 9),
    "trunk_link": RoadClass(50, 8),
    "primary_link": RoadClass(40, 7),
    "secondary_link": RoadClass(40, 6),
    "tertiary_link": RoadClass(30, 5),
    "unclassified": RoadClass(40, 5),
    "residential": RoadClass(30, 4),
    "living_street": RoadClass(20, 3),  # Finnish "pihakatu": 20 km/h
    "service": RoadClass(20, 2),
}
"""Classes cars may drive on. Footways, cycleways, paths, steps, pedestrian streets and corridors stay
out: SUMO would route cars over them."""

NETCONVERT_OPTIONS = [
    "--proj.utm",  # the input is lon/lat; project to the city's UTM zone and record it in <location>
    # Signals come from the stored nodes (OSM traffic_signals, often on a junction's approaches: each
    # becomes its own controller). --tls.guess adds signals only where the data has none on fast, wide
    # junctions. Measured on central Helsinki (random trips, 1 veh/s, 30 min): this gave 7 teleports;
    # merging approach signals into junction controllers (--tls.guess-signals, --tls.join) gave 237-790
    # teleports and gridlock.
    "--tls.guess",
    "--remove-edges.isolated",  # fragments nothing can reach (service roads cut by the extract's edge)
    "--output.street-names",
    "--junctions.corner-detail",
    "5",
    "--no-warnings",  # thousands of "shape" notes on the OSM-derived geometry; the summary is logged
]


@dataclass(frozen=True)
class SumoNetwork:
    """A built network: its files and what survived netconvert."""

    directory: Path
    net_file: Path
    network_hash: str
    exported_nodes: int
    exported_edges: int
    net_edges: int  # normal (non-internal) edges in the net
    traffic_lights: int
    built: bool  # False: taken from the cache
    build_seconds: float

    @property
    def manifest_file(self) -> Path:
        return self.directory / "manifest.json"

    def edge_ids(self) -> set[str]:
        """The ids of the edges netconvert kept (read from the manifest, not the 10 MB net file)."""
        return set(json.loads(self.manifest_file.read_text())["edge_ids"])

    def segment_ids(self) -> set[int]:
        """The stored RoadSegment ids that are edges of this net."""
        return {segment_id for e in self.edge_ids() if (segment_id := segment_id_of(e)) is not None}


def edge_id(segment_id: int) -> str:
    return f"seg{segment_id}"


def node_id(road_node_id: int) -> str:
    return f"n{road_node_id}"


def segment_id_of(edge: str) -> int | None:
    """The RoadSegment id behind a SUMO edge id, or None for edges netconvert made up (internal ones)."""
    if edge.startswith("seg") and edge[3:].isdigit():
        return int(edge[3:])
    return None


_DRIVABLE_WHERE = """
    s.highway = ANY(%(classes)s) AND s.from_node_id IS NOT NULL AND s.to_node_id IS NOT NULL
    AND s.from_node_id <> s.to_node_id AND ST_NPoints(s.geom) >= 2
    AND NOT (s.source = ANY(%(imported)s))
"""
# Imported SUMO networks (roads.RoadNetwork) run from their own file; the city network leaves them out.


def _params() -> dict[str, list[str]]:
    from apps.roads.networks import imported_sources  # here: the package's files stay usable without Django set up

    return {"classes": list(DRIVABLE), "imported": imported_sources()}


def drivable_segment_count() -> int:
    """How many stored segments the export writes (the denominator of how much netconvert kept)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM roads_roadsegment s WHERE {_DRIVABLE_WHERE}", _params())
        return int(cursor.fetchone()[0])


def network_hash() -> str:
    """A fingerprint of everything the export reads, computed in PostGIS (no rows leave the database)."""
    sql = f"""
        WITH seg AS (
            SELECT s.* FROM roads_roadsegment s WHERE {_DRIVABLE_WHERE}
        ), nodes AS (
            SELECT n.* FROM roads_roadnode n WHERE n.id IN (SELECT from_node_id FROM seg UNION SELECT to_node_id FROM seg)
        )
        SELECT
            (SELECT md5(coalesce(string_agg(concat_ws('|', id, from_node_id, to_node_id, highway, name, lanes,
                                                        maxspeed_kmh, oneway, md5(ST_AsBinary(geom))), ';' ORDER BY id), ''))
             FROM seg),
            (SELECT md5(coalesce(string_agg(concat_ws('|', id, traffic_signals, md5(ST_AsBinary(geom))), ';' ORDER BY id), ''))
             FROM nodes)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, _params())
        segments_md5, nodes_md5 = cursor.fetchone()
    options = json.dumps([EXPORT_VERSION, NETCONVERT_OPTIONS, {k: vars(v) for k, v in DRIVABLE.items()}])
    return hashlib.sha256(f"{segments_md5}:{nodes_md5}:{options}".encode()).hexdigest()[:16]


def _write_plain_xml(directory: Path) -> tuple[int, int]:
    """Write nodes.nod.xml and edges.edg.xml in lon/lat. PostGIS renders each shape as SUMO's
    "lon,lat lon,lat ..." string; Python only escapes names and writes lines."""
    params = _params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT n.id, ST_X(n.geom), ST_Y(n.geom), n.traffic_signals
            FROM roads_roadnode n
            WHERE n.id IN (SELECT from_node_id FROM roads_roadsegment s WHERE {_DRIVABLE_WHERE}
                           UNION SELECT to_node_id FROM roads_roadsegment s WHERE {_DRIVABLE_WHERE})
            ORDER BY n.id
            """,
            params,
        )
        nodes = cursor.fetchall()
        cursor.execute(
            f"""
            SELECT s.id, s.from_node_id, s.to_node_id, s.highway, s.name, s.lanes, s.maxspeed_kmh, s.oneway,
                   (SELECT string_agg(ST_X(p.geom)::text || ',' || ST_Y(p.geom)::text, ' ' ORDER BY p.path)
                    FROM ST_DumpPoints(s.geom) p)
            FROM roads_roadsegment s WHERE {_DRIVABLE_WHERE}
            ORDER BY s.id
            """,
            params,
        )
        edges = cursor.fetchall()

    with open(directory / "nodes.nod.xml", "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<nodes>\n')
        for nid, lon, lat, signals in nodes:
            kind = ' type="traffic_light"' if signals else ""
            out.write(f'  <node id="{node_id(nid)}" x="{lon!r}" y="{lat!r}"{kind}/>\n')
        out.write("</nodes>\n")

    with open(directory / "edges.edg.xml", "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<edges>\n')
        for sid, from_id, to_id, highway, name, lanes, maxspeed, oneway, shape in edges:
            road = DRIVABLE[highway]
            speed_ms = (maxspeed or road.speed_kmh) / 3.6
            # A one-way street's geometry is its centre line: lanes spread around it. A two-way street's
            # two directed segments share the centre line: each direction keeps to its right of it.
            spread = "center" if oneway else "right"
            named = f" name={quoteattr(name)}" if name else ""  # netconvert refuses an empty name
            out.write(
                f'  <edge id="{edge_id(sid)}" from="{node_id(from_id)}" to="{node_id(to_id)}"'
                f' priority="{road.priority}" numLanes="{max(lanes or 1, 1)}" speed="{speed_ms:.2f}"'
                f' spreadType="{spread}"{named} shape="{shape}"/>\n'
            )
        out.write("</edges>\n")
    return len(nodes), len(edges)


def _read_net_summary(net_file: Path) -> tuple[list[str], int, str]:
    """Edge ids, traffic-light count and projection of a built net, with sumolib's streaming parser."""
    import sumolib

    # Internal edges (the lanes across a junction) have ids starting with ':'.
    edge_ids = [e.id for e in sumolib.xml.parse_fast(str(net_file), "edge", ["id"]) if not e.id.startswith(":")]
    tls = sum(1 for _ in sumolib.xml.parse_fast(str(net_file), "tlLogic", ["id"]))
    location = next(sumolib.xml.parse_fast(str(net_file), "location", ["projParameter"]))
    return edge_ids, tls, location.projParameter


def load_network(directory: Path) -> SumoNetwork:
    manifest = json.loads((directory / "manifest.json").read_text())
    return SumoNetwork(
        directory=directory,
        net_file=directory / "net.net.xml",
        network_hash=manifest["hash"],
        exported_nodes=manifest["exported_nodes"],
        exported_edges=manifest["exported_edges"],
        net_edges=len(manifest["edge_ids"]),
        traffic_lights=manifest["traffic_lights"],
        built=False,
        build_seconds=0.0,
    )


def build_network(*, cache_root: Path | None = None, force: bool = False) -> SumoNetwork:
    """The SUMO network of the stored road graph: from the cache if the graph is unchanged, else built.

    The build happens in a temporary folder renamed into place at the end, so that a reader never sees
    a half-written network and two concurrent builders of the same graph do not clash."""
    root = cache_root or conf.cache_root()
    digest = network_hash()
    target = root / digest
    if not force and (target / "manifest.json").exists():
        return load_network(target)

    started = time.monotonic()
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".build-{digest}-", dir=root))
    try:
        exported_nodes, exported_edges = _write_plain_xml(work)
        if exported_edges == 0:
            raise RuntimeError("the stored road graph has no drivable segments: load a city first")
        command = [
            binary("netconvert"),
            "--node-files",
            str(work / "nodes.nod.xml"),
            "--edge-files",
            str(work / "edges.edg.xml"),
            *NETCONVERT_OPTIONS,
            "--log",
            str(work / "netconvert.log"),
            "-o",
            str(work / "net.net.xml"),
        ]
        # A fixed binary and arguments we built ourselves; no shell.
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise RuntimeError(f"netconvert failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
        edge_ids, tls, projection = _read_net_summary(work / "net.net.xml")
        if "+proj=utm" not in projection:
            raise RuntimeError(f"netconvert wrote no UTM projection (projParameter={projection!r})")
        build_seconds = time.monotonic() - started
        manifest = {
            "hash": digest,
            "export_version": EXPORT_VERSION,
            "exported_nodes": exported_nodes,
            "exported_edges": exported_edges,
            "traffic_lights": tls,
            "projection": projection,
            "build_seconds": round(build_seconds, 2),
            "edge_ids": sorted(edge_ids),
        }
        (work / "manifest.json").write_text(json.dumps(manifest))
        if force and target.exists():
            shutil.rmtree(target)
        try:
            os.replace(work, target)
        except OSError:
            # Another process built the same graph meanwhile (the target is a non-empty folder now): use
            # theirs rather than pull it from under a feed that may already read it.
            if not (target / "manifest.json").exists():
                raise
            shutil.rmtree(work, ignore_errors=True)
            return load_network(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    log.info(
        "built SUMO network %s: %d of %d segments became edges, %d traffic lights, %.1f s",
        digest,
        len(edge_ids),
        exported_edges,
        tls,
        build_seconds,
    )
    return SumoNetwork(
        directory=target,
        net_file=target / "net.net.xml",
        network_hash=digest,
        exported_nodes=exported_nodes,
        exported_edges=exported_edges,
        net_edges=len(edge_ids),
        traffic_lights=tls,
        built=True,
        build_seconds=build_seconds,
    )
