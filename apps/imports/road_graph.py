"""The road graph for roads loaded from generic files (GeoJSON, GeoPackage, Shapefile, CSV), in PostGIS.

Such files hold lines, not a graph: nothing says which roads meet. Between the check and the upsert of a
roads batch (sql.py), on the checked rows:
1. Directions: a two-way road (oneway false or absent) becomes two directed segments, `<id>#fwd` along
   the line and `<id>#rev` against it; a one-way road stays one segment under its own id (mapping.py has
   already reversed the lines of oneway=-1). A split id that another row of the file already uses
   rejects the later row, like any duplicate id.
2. Nodes: every segment's ends, in the local UTM zone, are clustered with ST_ClusterDBSCAN within
   NODE_TOLERANCE_M: ends closer than that are one junction, at the centroid of their distinct positions. A node's source_id is
   `pt/<lon>/<lat>` of that centroid (7 decimals): the same file always gives the same nodes, so a reload
   updates in place. The segments' from/to keys then name their nodes, and the upsert joins them.
"""

from __future__ import annotations

from typing import Any

from .report import KindCounts, RowIssue
from .sql import CHECKED

NODE_TOLERANCE_M = 0.5
FORWARD, REVERSE = "#fwd", "#rev"
NODES = "import_graph_nodes"

_SPLIT_SQL = f"""
DROP TABLE IF EXISTS import_reverse;
CREATE TEMP TABLE import_reverse ON COMMIT DROP AS
    SELECT * FROM {CHECKED} WHERE problem IS NULL AND NOT oneway;
UPDATE import_reverse SET source_id = source_id || '{REVERSE}', geom_final = ST_Reverse(geom_final),
    invalid_reason = NULL;
UPDATE {CHECKED} SET source_id = source_id || '{FORWARD}' WHERE problem IS NULL AND NOT oneway;
INSERT INTO {CHECKED} SELECT * FROM import_reverse;
DROP TABLE import_reverse;
ANALYZE {CHECKED};
"""

# Rows whose (split) id an earlier row already has: rejected, reported with both rows. Run without
# parameters: its % are format()'s.
_COLLISIONS_SQL = f"""
UPDATE {CHECKED} c SET problem = format('duplicate id %s once two-way roads are split into {FORWARD}/{REVERSE} '
                                       '(first at row %s)', c.source_id, d.first)
FROM (SELECT source_id, min(row) AS first FROM {CHECKED} WHERE problem IS NULL GROUP BY source_id
      HAVING count(*) > 1) d
WHERE c.problem IS NULL AND c.source_id = d.source_id AND c.row > d.first
RETURNING c.row, c.layer, c.source_id, c.problem
"""

_UTM_SQL = f"""
SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom_final)::geometry) AS c
                              FROM {CHECKED} WHERE problem IS NULL) x
"""

_NODES_SQL = f"""
DROP TABLE IF EXISTS {NODES};
CREATE TEMP TABLE {NODES} ON COMMIT DROP AS
WITH ends AS (
    SELECT c.source_id, e.side, ST_Transform(e.p, %(metric_srid)s) AS p
    FROM {CHECKED} c
    CROSS JOIN LATERAL (VALUES ('from', ST_StartPoint(c.geom_final)), ('to', ST_EndPoint(c.geom_final))) e(side, p)
    WHERE c.problem IS NULL
), clustered AS (
    SELECT source_id, side, p, ST_ClusterDBSCAN(p, eps := %(tolerance_m)s, minpoints := 1) OVER () AS cid FROM ends
), centres AS (
    -- Distinct ends: a node does not move when a two-way road (two equal ends) becomes one-way.
    SELECT cid, ST_Transform(ST_Centroid(ST_Collect(DISTINCT p)), 4326) AS geom FROM clustered GROUP BY cid
)
SELECT cl.source_id, cl.side, format('pt/%%s/%%s', round(ST_X(ce.geom)::numeric, 7), round(ST_Y(ce.geom)::numeric, 7))
       AS node_key, ce.geom
FROM clustered cl JOIN centres ce USING (cid);
ANALYZE {NODES};  -- temporary tables have no statistics otherwise: the join below would be a scan per row
UPDATE {CHECKED} c SET from_node_key = f.node_key, to_node_key = t.node_key
FROM {NODES} f, {NODES} t
WHERE c.problem IS NULL AND f.source_id = c.source_id AND f.side = 'from'
  AND t.source_id = c.source_id AND t.side = 'to';
"""

_UPSERT_NODES_SQL = f"""
WITH nodes AS (SELECT DISTINCT ON (node_key) node_key, geom FROM {NODES} ORDER BY node_key),
up AS (
    INSERT INTO roads_roadnode AS t (source, source_id, import_run_id, tags, created_at, updated_at, geom, traffic_signals)
    SELECT %(source)s, node_key, %(run)s, '{{}}'::jsonb, now(), now(), geom, false FROM nodes
    ON CONFLICT (source, source_id) DO UPDATE SET geom = EXCLUDED.geom, import_run_id = EXCLUDED.import_run_id,
        updated_at = now()
        WHERE t.geom IS DISTINCT FROM EXCLUDED.geom
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted), (SELECT count(*) FROM nodes) FROM up
"""

# --replace for a split batch: a stored segment is kept if the file still has it (split ids included),
# or if its file row was rejected this time (under its own id or a split one), or was rejected before
# staging (`kept`, given with the split ids). Then nodes no segment of the source uses any more go.
REPLACE_SQL = f"""
DELETE FROM roads_roadsegment t WHERE t.source = %(source)s
AND NOT EXISTS (SELECT 1 FROM {CHECKED} c WHERE c.source_id = t.source_id
                OR (c.problem IS NOT NULL AND t.source_id IN (c.source_id || '{FORWARD}', c.source_id || '{REVERSE}')))
AND t.source_id <> ALL(%(kept)s::text[])
"""

REPLACE_NODES_SQL = """
DELETE FROM roads_roadnode n WHERE n.source = %(source)s
AND NOT EXISTS (SELECT 1 FROM roads_roadsegment s WHERE s.from_node_id = n.id OR s.to_node_id = n.id)
"""


def utm_srid(lon: float, lat: float) -> int:
    """The WGS 84 / UTM zone (EPSG 326xx north, 327xx south) around a point: metres where the data is."""
    zone = min(60, max(1, int((lon + 180) // 6) + 1))
    return (32700 if lat < 0 else 32600) + zone


def build_road_graph(cursor: Any, *, source: str, run: int, file_name: str) -> tuple[KindCounts, list[RowIssue]]:
    """Split two-way roads, cluster ends into nodes and upsert them, set the checked rows' node keys.
    Runs on the checked rows of a roads batch, inside the import's transaction. Returns the nodes'
    counts and the rows rejected for a split id that collides."""
    cursor.execute(_SPLIT_SQL)
    cursor.execute(_COLLISIONS_SQL)
    issues = [
        RowIssue(file_name, layer, row, source_id, "id", problem, "rejected")
        for row, layer, source_id, problem in cursor.fetchall()
    ]
    cursor.execute(_UTM_SQL)
    centre = cursor.fetchone()
    counts = KindCounts()
    if centre is None or centre[0] is None:  # no road left to join
        return counts, issues
    cursor.execute(_NODES_SQL, {"metric_srid": utm_srid(*centre), "tolerance_m": NODE_TOLERANCE_M})
    cursor.execute(_UPSERT_NODES_SQL, {"source": source, "run": run})
    created, updated, total = cursor.fetchone()
    counts.read, counts.created, counts.updated = total, created, updated
    counts.unchanged = total - created - updated
    return counts, issues


def split_ids(ids: list[str]) -> list[str]:
    """Ids as the file has them, plus the ids their two directions are stored under."""
    return [i + suffix for i in ids for suffix in ("", FORWARD, REVERSE)]
