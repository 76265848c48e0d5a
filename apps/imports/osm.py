"""OpenStreetMap extracts (PBF, or XML converted to PBF) into rows for each target.

- Buildings: closed ways and multipolygon relations tagged building=*.
- Roads: every highway=* way becomes a directed graph. Nodes are junctions (shared by two or more ways,
  or where a way meets itself) and way ends; a segment runs between consecutive graph nodes along one
  way, once per direction of travel. Extracts are clipped at their border: references to nodes missing
  from the file are dropped, and a way left with fewer than two nodes is skipped.
- Assets: the tags in apps.assets.conf.OSM_ASSET_TAGS, as points, lines or areas.
- Districts: administrative boundaries when complete polygons exist; otherwise the service lays a grid.
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import shapely

from apps.assets.conf import OSM_ASSET_TAGS
from apps.buildings.heights import resolve_height
from apps.core.parsing import is_blank
from apps.roads.tags import lanes_per_direction, oneway_direction, parse_maxspeed

from .exceptions import ImportFileError
from .report import PreparedRows, RowIssue
from .targets import ASSETS, BUILDINGS, DISTRICTS, ROAD_NODES, ROADS

log = logging.getLogger(__name__)
SOURCE = "osm"
_BASE_COLUMNS = {
    "id",
    "geometry",
    "tags",
    "osm_type",
    "timestamp",
    "version",
    "changeset",
    "visible",
    "u",
    "v",
    "length",
}


def xml_to_pbf(path: Path, workdir: Path) -> Path:
    """pyrosm reads only PBF: copy an OSM XML file into PBF with pyosmium (objects unchanged)."""
    import osmium

    out = workdir / (path.stem + ".osm.pbf")
    try:
        with osmium.SimpleWriter(str(out)) as writer:
            for obj in osmium.FileProcessor(str(path)):
                writer.add(obj)
    except Exception as exc:  # noqa: BLE001 - libosmium's parse errors
        raise ImportFileError(path.name, f"is not a readable OSM XML file: {exc}") from exc
    return out


def _text(value: Any) -> str:
    return "" if is_blank(value) else str(value)


def _tags(row: dict[str, Any] | pd.Series, extra_columns: list[str]) -> dict[str, Any]:
    """All OSM tags of a row: pyrosm spreads common tags into columns and keeps the rest as JSON."""
    tags: dict[str, Any] = {}
    raw = row.get("tags")
    if isinstance(raw, str) and raw:
        with contextlib.suppress(ValueError):  # a malformed tag blob loses only the extra tags
            tags.update(json.loads(raw))
    elif isinstance(raw, dict):
        tags.update(raw)
    for col in extra_columns:
        value = row.get(col)
        if not is_blank(value) and not isinstance(value, (list, dict)):
            tags[col] = value if isinstance(value, (int, float, bool)) else str(value)
    return tags


def scan_buildings(pbf: Path) -> tuple[dict[int, tuple[int, int]], set[int], dict[int, list[int]]]:
    """An independent pass over the file with pyosmium: every building way (id -> (node refs, refs present
    in the file)), every building multipolygon relation and its member ways. pyrosm silently skips what it
    cannot build; this pass lets the report name each skipped building and why."""
    import osmium

    class Scan(osmium.SimpleHandler):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.nodes: set[int] = set()
            self.ways: dict[int, tuple[int, int]] = {}
            self.relations: dict[int, list[int]] = {}

        def node(self, n: Any) -> None:
            self.nodes.add(n.id)

        def way(self, w: Any) -> None:
            if "building" in w.tags:
                refs = [r.ref for r in w.nodes]
                self.ways[w.id] = (len(refs), sum(1 for r in refs if r in self.nodes))

        def relation(self, r: Any) -> None:
            if "building" in r.tags and r.tags.get("type") == "multipolygon":
                self.relations[r.id] = [m.ref for m in r.members if m.type == "w"]

    scan = Scan()
    scan.apply_file(str(pbf))
    member_ways = {w for members in scan.relations.values() for w in members}
    return scan.ways, member_ways, scan.relations


class OsmExtract:
    def __init__(self, path: Path) -> None:
        import pyrosm

        self.path = path
        self.name = path.name
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        pbf = path
        self.pbf = path
        if not path.name.lower().endswith(".pbf"):
            self._tmp = tempfile.TemporaryDirectory(prefix="citytwin-osm-")
            pbf = xml_to_pbf(path, Path(self._tmp.name))
            self.pbf = pbf
        try:
            self.osm = pyrosm.OSM(str(pbf))
        except Exception as exc:  # noqa: BLE001
            raise ImportFileError(path.name, f"is not a readable OSM PBF file: {exc}") from exc

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def _quiet(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)

    # --- buildings -----------------------------------------------------------------------------------
    def buildings(self) -> PreparedRows:
        frame = self._quiet(self.osm.get_buildings)
        rows: list[dict[str, Any]] = []
        issues: list[RowIssue] = []
        if frame is not None:
            extra = [c for c in frame.columns if c not in _BASE_COLUMNS]
            for i, series in enumerate(frame.to_dict("records"), start=1):
                source_id = f"{series['osm_type']}/{series['id']}"
                height = resolve_height(series.get("height"), series.get("building:levels"))
                for field, reason in height.warnings:
                    issues.append(RowIssue(self.name, "buildings", i, source_id, field, reason, "warning"))
                rows.append(
                    {
                        "row": i,
                        "layer": "buildings",
                        "source_id": source_id,
                        "geometry": series["geometry"],
                        "tags": _tags(series, extra),
                        "name": _text(series.get("name")),
                        "use": _text(series.get("building")) or "yes",
                        "levels": height.levels,
                        "height_m": height.height_m,
                        "height_source": str(height.source),
                        "osm_id": int(series["id"]),
                        "osm_type": str(series["osm_type"]),
                    }
                )
        built = {r["source_id"] for r in rows}
        ways, member_ways, relations = scan_buildings(self.pbf)
        for wid, (refs, present) in sorted(ways.items()):
            if f"way/{wid}" in built or wid in member_ways:  # members are loaded as their relation
                continue
            reason = (
                f"cannot be built: only {present} of its {refs} nodes are in the extract (clipped at its border)"
                if present < refs
                else "cannot be built into a polygon (not a closed ring)"
            )
            issues.append(RowIssue(self.name, "buildings", None, f"way/{wid}", "geometry", reason, "rejected"))
        for rid in sorted(relations):
            if f"relation/{rid}" not in built:
                issues.append(
                    RowIssue(
                        self.name,
                        "buildings",
                        None,
                        f"relation/{rid}",
                        "geometry",
                        "cannot be built: member ways or their nodes are missing from the extract",
                        "rejected",
                    )
                )
        return PreparedRows(BUILDINGS, 4326, pd.DataFrame(rows), issues)

    # --- roads ---------------------------------------------------------------------------------------
    def road_network(self) -> tuple[PreparedRows, PreparedRows]:
        got = self._quiet(self.osm.get_network, nodes=True, network_type="all")
        if got is None or got[1] is None or len(got[1]) == 0:
            return PreparedRows(ROAD_NODES, 4326, pd.DataFrame()), PreparedRows(ROADS, 4326, pd.DataFrame())
        nodes, edges = got
        coords = {int(n.id): (float(n.lon), float(n.lat)) for n in nodes.itertuples(index=False)}
        signals = {
            int(n.id)
            for n in nodes.itertuples(index=False)
            if isinstance(n.tags, dict)
            and (n.tags.get("highway") == "traffic_signals" or n.tags.get("crossing") == "traffic_signals")
        }
        # Each way as its ordered node list (pyrosm emits a way's node pairs in order).
        ways: dict[int, list[int]] = {}
        attrs: dict[int, pd.Series] = {}
        extra = [c for c in edges.columns if c not in _BASE_COLUMNS]
        for wid, group in edges.groupby("id", sort=False):
            seq = [int(group["u"].iloc[0]), *(int(v) for v in group["v"])]
            # Clipped extracts: drop references to nodes that are not in the file.
            seq = [n for n in seq if n in coords]
            seq = [n for i, n in enumerate(seq) if i == 0 or n != seq[i - 1]]
            if len(seq) >= 2:
                ways[int(wid)] = seq
                attrs[int(wid)] = group.iloc[0]
        use = Counter(n for seq in ways.values() for n in seq)
        ends = Counter(n for seq in ways.values() for n in (seq[0], seq[-1]))
        graph_nodes = {n for n, c in use.items() if c >= 2} | set(ends)

        seg_rows: list[dict[str, Any]] = []
        issues: list[RowIssue] = []
        row = 0
        for wid, seq in ways.items():
            a = attrs[wid]
            tags = _tags(a, extra)
            highway = _text(a.get("highway")) or "road"
            direction = oneway_direction(a.get("oneway"), highway, tags.get("junction"))
            try:
                maxspeed = parse_maxspeed(a.get("maxspeed"))
            except ValueError as exc:
                maxspeed = None
                issues.append(
                    RowIssue(self.name, "roads", None, f"way/{wid}", "maxspeed", f"{exc}; ignored", "warning")
                )
            cut = [0] + [i for i in range(1, len(seq) - 1) if seq[i] in graph_nodes] + [len(seq) - 1]
            for part, (start, end) in enumerate(zip(cut[:-1], cut[1:], strict=True)):
                part_nodes = seq[start : end + 1]
                line = shapely.LineString([coords[n] for n in part_nodes])
                for forward in [True] if direction == 1 else [False] if direction == -1 else [True, False]:
                    row += 1
                    u, v = (part_nodes[0], part_nodes[-1]) if forward else (part_nodes[-1], part_nodes[0])
                    seg_rows.append(
                        {
                            "row": row,
                            "layer": "roads",
                            "source_id": f"way/{wid}/{part}/{'f' if forward else 'b'}",
                            "geometry": line if forward else line.reverse(),
                            "tags": tags,
                            "highway": highway,
                            "name": _text(a.get("name")),
                            "lanes": lanes_per_direction(
                                a.get("lanes"),
                                oneway=direction != 0,
                                forward=tags.get("lanes:forward"),
                                backward=tags.get("lanes:backward"),
                                reverse=not forward,
                            ),
                            "maxspeed_kmh": maxspeed,
                            "oneway": direction != 0,
                            "osm_way_id": wid,
                            "from_node_key": f"node/{u}",
                            "to_node_key": f"node/{v}",
                        }
                    )
        node_rows = [
            {
                "row": i,
                "layer": "road_nodes",
                "source_id": f"node/{n}",
                "geometry": shapely.Point(coords[n]),
                "tags": {},
                "osm_id": n,
                "traffic_signals": n in signals,
            }
            for i, n in enumerate(sorted(graph_nodes), start=1)
        ]
        return PreparedRows(ROAD_NODES, 4326, pd.DataFrame(node_rows)), PreparedRows(
            ROADS, 4326, pd.DataFrame(seg_rows), issues
        )

    # --- assets --------------------------------------------------------------------------------------
    def assets(self) -> PreparedRows:
        wanted: dict[str, list[str]] = {}
        for key, value, _kind in OSM_ASSET_TAGS:
            wanted.setdefault(key, []).append(value)
        frame = self._quiet(
            self.osm.get_data_by_custom_criteria,
            custom_filter=wanted,
            keep_nodes=True,
            keep_ways=True,
            keep_relations=True,
        )
        rows: list[dict[str, Any]] = []
        if frame is not None:
            extra = [c for c in frame.columns if c not in _BASE_COLUMNS]
            for i, series in enumerate(frame.to_dict("records"), start=1):
                kind = next((k for key, value, k in OSM_ASSET_TAGS if series.get(key) == value), None)
                if kind is None or series["geometry"] is None:
                    continue
                rows.append(
                    {
                        "row": i,
                        "layer": "assets",
                        "source_id": f"{series['osm_type']}/{series['id']}",
                        "geometry": series["geometry"],
                        "tags": _tags(series, extra),
                        "kind": kind,
                        "name": _text(series.get("name")),
                        "operator": _text(series.get("operator")),
                        "osm_id": int(series["id"]),
                        "osm_type": str(series["osm_type"]),
                    }
                )
        return PreparedRows(ASSETS, 4326, pd.DataFrame(rows))

    # --- districts -----------------------------------------------------------------------------------
    def districts(self) -> PreparedRows:
        frame = self._quiet(self.osm.get_boundaries, boundary_type="administrative")
        rows: list[dict[str, Any]] = []
        if frame is not None:
            frame = frame[frame.geometry.notna() & frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
            for i, series in enumerate(frame.to_dict("records"), start=1):
                level = series.get("admin_level")
                osm_key = f"{series['osm_type']}/{series['id']}"
                rows.append(
                    {
                        "row": i,
                        "layer": "districts",
                        "source_id": osm_key,
                        "geometry": series["geometry"],
                        "tags": {},
                        "name": _text(series.get("name")) or osm_key,
                        "code": _text(series.get("ref")),
                        "level": "admin",
                        "admin_level": int(level) if str(level).isdigit() else None,
                    }
                )
        return PreparedRows(DISTRICTS, 4326, pd.DataFrame(rows))
