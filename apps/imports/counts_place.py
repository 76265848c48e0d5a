"""Placing loop detectors on road segments: by the edge id a file names, or by snapping their coordinates.

- With --network NAME and an edge id in the row: the RoadSegment with source = NAME and source_id = that
  id (import_sumo_network keeps SUMO's edge ids that way). The edge id is the file's word: an id the network
  lacks is an error, not a reason to guess by coordinates.
- Otherwise, by the coordinates: the nearest segments (PostGIS KNN, of NAME's network when given, else of
  every stored road) within the tolerance; if the row gives a direction of travel (compass letters or a
  bearing), the nearest whose own direction at that point is within DIRECTION_TOLERANCE_DEG of it (on a
  two-way street: the carriageway the loop counts), else the nearest. None: an error naming the nearest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection

from .counts_read import Detector

DIRECTION_TOLERANCE_DEG = 67.5  # the compass point named, and half of each neighbour
KNN_CANDIDATES = 12  # nearest segments looked at per detector, before the true distance and direction filter

_SNAP_SQL = """
WITH d AS (
    SELECT * FROM unnest(%(keys)s::text[], %(lons)s::float8[], %(lats)s::float8[]) AS d(key, lon, lat)
)
SELECT d.key, c.id, c.distance_m, c.bearing
FROM d CROSS JOIN LATERAL (
    SELECT k.id, k.distance_m,
           -- the segment's direction of travel around the point nearest the loop (on geography: true north)
           degrees(ST_Azimuth(
               ST_LineInterpolatePoint(k.geom, greatest(k.f - k.step, 0))::geography,
               ST_LineInterpolatePoint(k.geom, least(k.f + k.step, 1))::geography
           )) AS bearing
    FROM (
        SELECT s.id, s.geom, ST_LineLocatePoint(s.geom, p.pt) AS f,
               least(0.5, 5.0 / greatest(ST_Length(s.geom::geography), 1.0)) AS step,
               ST_Distance(s.geom::geography, p.pt::geography) AS distance_m
        FROM (SELECT ST_SetSRID(ST_MakePoint(d.lon, d.lat), 4326) AS pt) p,
             LATERAL (
                 SELECT id, geom FROM roads_roadsegment
                 WHERE %(network)s::text IS NULL OR source = %(network)s::text
                 ORDER BY geom <-> p.pt LIMIT %(candidates)s
             ) s
    ) k
    WHERE k.distance_m <= %(tolerance)s
    ORDER BY k.distance_m
) c
ORDER BY d.key, c.distance_m
"""


@dataclass(frozen=True)
class Placement:
    segment_id: int | None
    # Where the sensor stands: the loop's own coordinates, else the middle of its segment.
    lon: float | None
    lat: float | None
    field: str = ""  # when not placed: the field and the reason
    reason: str = ""


def network_size(network: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM roads_roadsegment WHERE source = %s", [network])
        return int(cursor.fetchone()[0])


def _degrees(bearing: float | None) -> str:
    return "nowhere (a point)" if bearing is None else f"{bearing:.0f}°"


def _angle(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


def place(
    detectors: Sequence[Detector],
    *,
    network: str | None,
    tolerance_m: float,
    edge_field: str = "edge_id",
    coordinates_field: str = "geopoint",
) -> dict[str, Placement]:
    """Where each detector goes, by loop id."""
    placements: dict[str, Placement] = {}
    by_edge = [d for d in detectors if network and d.edge_id]
    to_snap = [d for d in detectors if not (network and d.edge_id)]
    with connection.cursor() as cursor:
        if by_edge:
            cursor.execute(
                "SELECT source_id, id, ST_X(ST_LineInterpolatePoint(geom, 0.5)), ST_Y(ST_LineInterpolatePoint(geom, 0.5))"
                " FROM roads_roadsegment WHERE source = %s AND source_id = ANY(%s)",
                [network, list({d.edge_id for d in by_edge})],
            )
            edges = {edge: (seg, lon, lat) for edge, seg, lon, lat in cursor.fetchall()}
            for d in by_edge:
                found = edges.get(d.edge_id)
                if found is None:
                    placements[d.loop_id] = Placement(
                        None, d.lon, d.lat, edge_field, f"edge {d.edge_id} not in network {network}"
                    )
                else:
                    placements[d.loop_id] = Placement(found[0], d.lon if d.lon is not None else found[1],
                                                      d.lat if d.lat is not None else found[2])  # fmt: skip
        located = [d for d in to_snap if d.lon is not None]
        for d in to_snap:
            if d.lon is None:
                placements[d.loop_id] = Placement(
                    None, None, None, coordinates_field, "no edge id and no coordinates: cannot place the detector"
                )
        candidates: dict[str, list[tuple[int, float, float | None]]] = {d.loop_id: [] for d in located}
        if located:
            cursor.execute(
                _SNAP_SQL,
                {
                    "keys": [d.loop_id for d in located],
                    "lons": [d.lon for d in located],
                    "lats": [d.lat for d in located],
                    "network": network,
                    "candidates": KNN_CANDIDATES,
                    "tolerance": tolerance_m,
                },
            )
            for key, seg, distance, bearing in cursor.fetchall():
                candidates[key].append((seg, distance, bearing))
    where = f"network {network}" if network else "the stored roads"
    for d in located:
        near = candidates[d.loop_id]
        if d.bearing is None:
            chosen = near[0] if near else None
        else:
            chosen = next(
                (c for c in near if c[2] is not None and _angle(c[2], d.bearing) <= DIRECTION_TOLERANCE_DEG), None
            )
        if chosen is not None:
            placements[d.loop_id] = Placement(chosen[0], d.lon, d.lat)
        elif not near:
            placements[d.loop_id] = Placement(
                None, d.lon, d.lat, coordinates_field, f"no road segment of {where} within {tolerance_m:g} m"
            )
        else:
            nearest = near[0]
            placements[d.loop_id] = Placement(
                None,
                d.lon,
                d.lat,
                coordinates_field,
                f"no road segment of {where} heading {d.bearing:.0f}° (±{DIRECTION_TOLERANCE_DEG:g}°) within"
                f" {tolerance_m:g} m; the nearest, segment {nearest[0]} at {nearest[1]:.0f} m, heads {_degrees(nearest[2])}",
            )
    return placements
