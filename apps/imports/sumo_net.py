"""SUMO networks (.net.xml, or gzipped) into road rows: junctions as nodes, edges as directed segments.

A city that already has a SUMO model keeps it: the original junction and edge ids become the rows'
source_id, so scenarios and counts can name them (an id longer than the column is shortened stably, see
stored_id). Internal edges (across junctions) and the other
non-normal functions (crossings, walking areas, connectors) and internal junctions are left out.
Coordinates go through the net's own <location>: x - netOffset, then the inverse of projParameter, to
WGS 84 (what sumolib's convertXY2LonLat does). A net without a projection is refused.

The file is streamed with expat rather than read with sumolib.net.readNet: readNet keeps the whole
object graph (lanes, connections, programs), several times the file's size, where we need one pass and
a few columns. A DOCTYPE, an entity declaration or an external entity reference refuses the file: a
SUMO network has none, and they are how XML reads local files, fetches URLs or expands into gigabytes.
The projection string reaches PROJ only from an allow-list of parameters (no +init files, no grids,
which PROJ could read from disk or the network).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from xml.parsers import expat

import numpy as np
import pandas as pd
import shapely

from apps.core.models import SourcedFeature

from .exceptions import ImportFileError
from .report import PreparedRows, RowIssue
from .targets import ROAD_NODES, ROADS

READ_CHUNK = 1 << 20
KEPT_FUNCTIONS = {"", "normal"}
# PROJ parameters a SUMO net's projParameter may use: projections and datums, nothing that names a file.
PROJ_KEYS = {
    "proj", "zone", "south", "ellps", "datum", "units", "no_defs", "towgs84", "lat_0", "lon_0", "lat_1", "lat_2",
    "lat_ts", "k", "k_0", "x_0", "y_0", "a", "b", "f", "rf", "R", "pm", "axis", "type", "wktext", "over", "gamma",
    "alpha", "lonc", "no_uoff", "h", "approx",
}  # fmt: skip
_PROJ_VALUE = re.compile(r"^[A-Za-z0-9_.,:+-]*$")
_EPSG = re.compile(r"^(?:EPSG:|\+init=epsg:)(\d{4,6})$", re.IGNORECASE)


class _Refused(Exception):
    """Raised inside expat's callbacks to stop the parse with a reason."""


@dataclass
class _Edge:
    line: int
    id: str
    from_id: str
    to_id: str
    priority: str
    type: str
    name: str
    shape: list[tuple[float, float]] | None
    speeds: list[float] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)
    disallow: list[str] = field(default_factory=list)


@dataclass
class SumoNet:
    """What the import keeps of a network, in the net's own x/y (before the offset and projection)."""

    location: dict[str, str] | None = None
    junctions: dict[str, tuple[int, str, float, float]] = field(default_factory=dict)  # id -> line, type, x, y
    edges: list[_Edge] = field(default_factory=list)
    issues: list[RowIssue] = field(default_factory=list)


def _open(path: Path) -> io.BufferedIOBase:
    with open(path, "rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")  # noqa: SIM115 - closed by the caller


def _point(text: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) not in (2, 3):
        raise ValueError(f"{text[:40]!r} is not x,y")
    x, y = float(parts[0]), float(parts[1])
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"{text[:40]!r} is not a finite x,y")
    return x, y


def _feed(parser: Any, path: Path, file_name: str, what: str) -> None:
    """Stream the file through the parser (its element handlers set by the caller), refusing any DOCTYPE or
    entity declaration (XML entities can read local files or URLs; SUMO files have none); every failure
    becomes an ImportFileError naming the file."""

    def refuse(*_: Any) -> NoReturn:
        raise _Refused(
            f"line {parser.CurrentLineNumber}: has a DOCTYPE or entity declaration; {what} has none, "
            "and XML entities can read local files or URLs, so the file is refused"
        )

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    try:
        with _open(path) as fh:
            while chunk := fh.read(READ_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _Refused as exc:
        raise ImportFileError(file_name, str(exc)) from None
    except expat.ExpatError as exc:
        raise ImportFileError(file_name, f"is not well-formed XML ({exc})") from None
    except (OSError, EOFError) as exc:  # a truncated or corrupt gzip stream
        raise ImportFileError(file_name, f"cannot be read ({exc})") from None


def parse_net(path: Path, *, file_name: str) -> SumoNet:
    """Stream the file once; raise ImportFileError for a file that is not a SUMO network or is hostile."""
    net = SumoNet()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    depth = 0
    edge: _Edge | None = None  # the normal edge whose lanes are being read
    layer = "edges"

    def issue(line: int, fid: str | None, fld: str, reason: str, action: str = "rejected") -> None:
        net.issues.append(RowIssue(file_name, layer, line, fid, fld, reason, action))

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal depth, edge, layer
        depth += 1
        line = parser.CurrentLineNumber
        if depth == 1:
            if tag != "net":
                raise _Refused(f"is not a SUMO network: its root element is <{tag[:40]}>, not <net>")
            return
        if depth == 2:
            edge = None
            if tag == "location":
                net.location = dict(attrs)
            elif tag == "edge" and attrs.get("function", "") in KEPT_FUNCTIONS:
                layer = "edges"
                eid = attrs.get("id", "")
                if not eid or not attrs.get("from") or not attrs.get("to"):
                    issue(line, eid or None, "id/from/to", "an edge needs an id, a from and a to junction")
                    return
                shape = None
                if attrs.get("shape"):
                    try:
                        shape = [_point(p) for p in attrs["shape"].split()]
                    except ValueError as exc:
                        issue(line, eid, "shape", str(exc))
                        return
                edge = _Edge(
                    line,
                    eid,
                    attrs["from"],
                    attrs["to"],
                    attrs.get("priority", ""),
                    attrs.get("type", ""),
                    attrs.get("name", ""),
                    shape,
                )
                net.edges.append(edge)
            elif tag == "junction" and attrs.get("type") != "internal":
                layer = "junctions"
                jid = attrs.get("id", "")
                try:
                    x, y = _point(f"{attrs.get('x')},{attrs.get('y')}")
                except ValueError as exc:
                    issue(line, jid or None, "x/y", str(exc))
                    return
                if not jid:
                    issue(line, None, "id", "a junction needs an id")
                    return
                net.junctions[jid] = (line, attrs.get("type", ""), x, y)
        elif depth == 3 and tag == "lane" and edge is not None:
            try:
                speed = float(attrs.get("speed", "nan"))
            except ValueError:
                speed = math.nan
            if math.isfinite(speed) and speed > 0:
                edge.speeds.append(speed)
            else:
                net.issues.append(
                    RowIssue(
                        file_name,
                        "edges",
                        line,
                        edge.id,
                        "speed",
                        "lane speed is not a positive number; ignored",
                        "warning",
                    )
                )
                edge.speeds.append(math.nan)
            edge.allow.append(attrs.get("allow", ""))
            edge.disallow.append(attrs.get("disallow", ""))

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    _feed(parser, path, file_name, "a SUMO network")
    return net


def net_crs(location: dict[str, str] | None, *, file_name: str) -> Any:
    """The pyproj CRS of the net's projParameter; ImportFileError if there is none or it is not allowed."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    param = (location or {}).get("projParameter", "").strip()
    if location is None or param in ("", "!"):
        where = "has no <location> element" if location is None else f'has projParameter="{param}" in its <location>'
        raise ImportFileError(
            file_name,
            f"the network is not georeferenced ({where}): its x/y cannot be placed on the map. Build it with a "
            "projection (netconvert --proj.utm, or from OSM) and import that",
        )
    epsg = _EPSG.match(param)
    try:
        if epsg:
            return CRS.from_epsg(int(epsg.group(1)))
        for token in param.split():
            key, _, value = token.lstrip("+").partition("=")
            if not token.startswith("+") or key not in PROJ_KEYS or not _PROJ_VALUE.match(value):
                raise ImportFileError(
                    file_name,
                    f"projParameter has {token[:60]!r}, which is not allowed (only projection and datum "
                    "parameters; no init files or grids)",
                )
        return CRS.from_proj4(param)
    except CRSError as exc:
        raise ImportFileError(
            file_name, f"projParameter {param[:120]!r} is not a projection PROJ reads ({exc})"
        ) from None


def _offset(location: dict[str, str], file_name: str) -> tuple[float, float]:
    try:
        return _point(location.get("netOffset", "0,0"))
    except ValueError as exc:
        raise ImportFileError(file_name, f"<location> netOffset: {exc}") from None


def to_lonlat(net: SumoNet, xy: np.ndarray, *, file_name: str) -> np.ndarray:
    """Net x/y (n x 2) to lon/lat: subtract netOffset, then the inverse projection."""
    from pyproj import Transformer

    crs = net_crs(net.location, file_name=file_name)
    assert net.location is not None
    off_x, off_y = _offset(net.location, file_name)
    transformer = Transformer.from_crs(crs, 4326, always_xy=True)
    lon, lat = transformer.transform(xy[:, 0] - off_x, xy[:, 1] - off_y)
    return np.column_stack([lon, lat])


def stored_id(sumo_id: str) -> str:
    """The source_id a junction or edge is stored under: its own id, or, when that is longer than the
    column (netconvert's joined clusters can be), a stable shortening (a prefix and a hash); the full id
    is then in tags["sumo_id"]."""
    limit = SourcedFeature._meta.get_field("source_id").max_length or 128
    if len(sumo_id) <= limit:
        return sumo_id
    return f"{sumo_id[: limit - 17]}~{hashlib.sha256(sumo_id.encode()).hexdigest()[:16]}"


def highway_class(sumo_type: str) -> str:
    """'highway.primary' -> 'primary' (the first highway.* of a combined type), else 'road'."""
    for part in sumo_type.split("|"):
        if part.startswith("highway.") and len(part) > len("highway."):
            return part[len("highway.") :]
    return "road"


def read_sumo_network(path: Path, *, file_name: str) -> tuple[PreparedRows, PreparedRows]:
    """The net's junctions and normal edges as rows for ROAD_NODES and ROADS, in WGS 84. `row` is the
    line of the element in the file."""
    net = parse_net(path, file_name=file_name)
    net_crs(net.location, file_name=file_name)  # refuse a net without georeference before any geometry work
    junction_ids = list(net.junctions)
    points = [_xy(net.junctions[j]) for j in junction_ids]
    edges: list[_Edge] = []
    line_offsets = [0]
    for e in net.edges:
        shape = e.shape
        if shape is None:
            ends = (net.junctions.get(e.from_id), net.junctions.get(e.to_id))
            if ends[0] is None or ends[1] is None:
                missing = e.from_id if ends[0] is None else e.to_id
                net.issues.append(
                    RowIssue(
                        file_name,
                        "edges",
                        e.line,
                        e.id,
                        "shape",
                        f"has no shape and its junction {missing!r} is not in the file",
                        "rejected",
                    )
                )
                continue
            shape = [_xy(ends[0]), _xy(ends[1])]
        elif e.from_id not in net.junctions or e.to_id not in net.junctions:
            net.issues.append(
                RowIssue(
                    file_name,
                    "edges",
                    e.line,
                    e.id,
                    "from/to",
                    "a junction it names is not in the file; the segment is not joined to the graph",
                    "warning",
                )
            )
        if len(shape) < 2:
            net.issues.append(
                RowIssue(file_name, "edges", e.line, e.id, "shape", "has fewer than two points", "rejected")
            )
            continue
        edges.append(e)
        points.extend(shape)
        line_offsets.append(line_offsets[-1] + len(shape))
    lonlat = to_lonlat(net, np.asarray(points, dtype=float).reshape(-1, 2), file_name=file_name)
    n = len(junction_ids)
    nodes = pd.DataFrame(
        {
            "row": [net.junctions[j][0] for j in junction_ids],
            "layer": "junctions",
            "source_id": [stored_id(j) for j in junction_ids],
            "geometry": shapely.points(lonlat[:n]) if n else [],
            "tags": [{"type": net.junctions[j][1], **_full_id(j)} for j in junction_ids],
            "osm_id": None,
            "traffic_signals": [net.junctions[j][1].startswith("traffic_light") for j in junction_ids],
        }
    )
    counts = np.diff(np.asarray(line_offsets))
    lines = shapely.linestrings(lonlat[n:], indices=np.repeat(np.arange(len(edges)), counts)) if edges else []
    pairs = {(e.from_id, e.to_id) for e in edges}
    segments = pd.DataFrame(
        {
            "row": [e.line for e in edges],
            "layer": "edges",
            "source_id": [stored_id(e.id) for e in edges],
            "geometry": list(lines),
            "tags": [_edge_tags(e) for e in edges],
            "highway": [highway_class(e.type) for e in edges],
            "name": [e.name for e in edges],
            "lanes": [len(e.speeds) or None for e in edges],
            "maxspeed_kmh": [_speed_kmh(e.speeds) for e in edges],
            # One-way: no edge of the net runs the other way between the same junctions.
            "oneway": [(e.to_id, e.from_id) not in pairs for e in edges],
            "osm_way_id": None,
            "from_node_key": [stored_id(e.from_id) for e in edges],
            "to_node_key": [stored_id(e.to_id) for e in edges],
        }
    )
    node_issues = [i for i in net.issues if i.layer == "junctions"]
    edge_issues = [i for i in net.issues if i.layer != "junctions"]
    return PreparedRows(ROAD_NODES, 4326, nodes, node_issues), PreparedRows(ROADS, 4326, segments, edge_issues)


def _xy(junction: tuple[int, str, float, float]) -> tuple[float, float]:
    return junction[2], junction[3]


def _speed_kmh(speeds: list[float]) -> float | None:
    finite = [s for s in speeds if math.isfinite(s)]
    return round(max(finite) * 3.6, 2) if finite else None


def _full_id(sumo_id: str) -> dict[str, str]:
    return {"sumo_id": sumo_id} if stored_id(sumo_id) != sumo_id else {}


def _edge_tags(e: _Edge) -> dict[str, Any]:
    tags: dict[str, Any] = {"sumo_from": e.from_id, "sumo_to": e.to_id, **_full_id(e.id)}
    if e.priority:
        tags["priority"] = int(e.priority) if e.priority.lstrip("-").isdigit() else e.priority
    if e.type:
        tags["sumo_type"] = e.type
    if any(e.allow):
        tags["lane_allow"] = e.allow
    if any(e.disallow):
        tags["lane_disallow"] = e.disallow
    return tags


def check_route_file(path: Path) -> int:
    """A SUMO route file given with a network (its city model's demand): well-formed, rooted at <routes>,
    with routes in it, and no DOCTYPE or entities (refused as for networks). Returns its routes."""
    routes = 0
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    depth = 0

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal depth, routes
        depth += 1
        if depth == 1 and tag != "routes":
            raise _Refused(f"is not a SUMO route file: its root element is <{tag[:40]}>, not <routes>")
        if tag == "route" and attrs.get("edges", "").strip():
            routes += 1

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    _feed(parser, path, path.name, "a route file")
    if routes == 0:
        raise ImportFileError(path.name, "has no <route> with edges: nothing to fit counts with")
    return routes
