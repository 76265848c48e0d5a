"""Placing loop detectors on road segments: by the edge id a file names, or by snapping their coordinates.

- With --network NAME and an edge id in the row: the RoadSegment with source = NAME and source_id = that
  id (import_sumo_network keeps SUMO's edge ids that way). An id the network lacks is an error, not a reason
  to guess by coordinates. But an edge id may name the wrong carriageway: Bologna's file maps each loop to
  an edge by position alone, and about half its loops on two-way streets name the edge running the other
  way. So when the row also gives a direction of travel and coordinates, the named edge's own direction at
  the point nearest the loop is checked: within DIRECTION_TOLERANCE_DEG, kept; else the loop goes on the
  nearest segment of NAME within the tolerance that heads its way (the other carriageway, usually), and
  else stays on the named edge; both with a warning naming the edges (Placement.warning).
- Otherwise, by the coordinates: the nearest segments (PostGIS KNN, of NAME's network when given, else of
  every stored road) within the tolerance; if the row gives a direction of travel (compass letters or a
  bearing), the nearest whose own direction at that point is within DIRECTION_TOLERANCE_DEG of it (on a
  two-way street: the carriageway the loop counts), else the nearest. None: an error naming the nearest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.backends.utils import CursorWrapper

from .counts_read import Detector

DIRECTION_TOLERANCE_DEG = 67.5  # the compass point named, and half of each neighbour
KNN_CANDIDATES = 12  # nearest segments looked at per detector, before the true distance and direction filter

# A segment k's direction of travel around the point nearest the loop (on geography: true north); k has
# geom, f (the point's fraction along geom) and step (5 m as a fraction, at most half the segment).
_BEARING = """degrees(ST_Azimuth(
               ST_LineInterpolatePoint(k.geom, greatest(k.f - k.step, 0))::geography,
               ST_LineInterpolatePoint(k.geom, least(k.f + k.step, 1))::geography
           ))"""
_AROUND = """ST_LineLocatePoint(s.geom, p.pt) AS f,
               least(0.5, 5.0 / greatest(ST_Length(s.geom::geography), 1.0)) AS step"""

_SNAP_SQL = f"""
WITH d AS (
    SELECT * FROM unnest(%(keys)s::text[], %(lons)s::float8[], %(lats)s::float8[]) AS d(key, lon, lat)
)
SELECT d.key, c.id, c.distance_m, c.bearing, c.source_id
FROM d CROSS JOIN LATERAL (
    SELECT k.id, k.source_id, k.distance_m, {_BEARING} AS bearing
    FROM (
        SELECT s.id, s.source_id, s.geom, {_AROUND},
               ST_Distance(s.geom::geography, p.pt::geography) AS distance_m
        FROM (SELECT ST_SetSRID(ST_MakePoint(d.lon, d.lat), 4326) AS pt) p,
             LATERAL (
                 SELECT id, source_id, geom FROM roads_roadsegment
                 WHERE %(network)s::text IS NULL OR source = %(network)s::text
                 ORDER BY geom <-> p.pt LIMIT %(candidates)s
             ) s
    ) k
    WHERE k.distance_m <= %(tolerance)s
    ORDER BY k.distance_m
) c
ORDER BY d.key, c.distance_m
"""

# The direction of each named segment at the point nearest its loop (segment id -> bearing).
_NAMED_BEARING_SQL = f"""
WITH d AS (
    SELECT * FROM unnest(%(keys)s::text[], %(segments)s::bigint[], %(lons)s::float8[], %(lats)s::float8[])
        AS d(key, segment, lon, lat)
)
SELECT d.key, {_BEARING}
FROM d CROSS JOIN LATERAL (
    SELECT s.geom, {_AROUND}
    FROM roads_roadsegment s, (SELECT ST_SetSRID(ST_MakePoint(d.lon, d.lat), 4326) AS pt) p
    WHERE s.id = d.segment
) k
"""


@dataclass(frozen=True)
class Placement:
    segment_id: int | None
    # Where the sensor stands: the loop's own coordinates, else the middle of its segment.
    lon: float | None
    lat: float | None
    field: str = ""  # when not placed: the field and the reason; when placed with a doubt: the warning's
    reason: str = ""

    @property
    def warning(self) -> bool:
        """Placed, but the row's edge id and its direction of travel disagree (reason says how)."""
        return self.segment_id is not None and bool(self.reason)


def network_size(network: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM roads_roadsegment WHERE source = %s", [network])
        return int(cursor.fetchone()[0])


def _degrees(bearing: float | None) -> str:
    return "nowhere (a point)" if bearing is None else f"{bearing:.0f}°"


def _angle(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


_POINTS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def _direction(bearing: float) -> str:
    """A loop's direction as the file likely gave it: a compass point, else degrees."""
    return _POINTS[int(bearing) // 45] if bearing % 45 == 0 else f"{bearing:.0f}°"


def _agrees(bearing: float | None, wanted: float) -> bool:
    return bearing is not None and _angle(bearing, wanted) <= DIRECTION_TOLERANCE_DEG


def _named_bearings(cursor: CursorWrapper, detectors: list[Detector], segments: dict[str, int]) -> dict[str, float]:
    """Each detector's named segment's direction at the point nearest the loop, by loop id (none for a
    segment too short to have one)."""
    if not detectors:
        return {}
    cursor.execute(
        _NAMED_BEARING_SQL,
        {
            "keys": [d.loop_id for d in detectors],
            "segments": [segments[d.edge_id] for d in detectors],
            "lons": [d.lon for d in detectors],
            "lats": [d.lat for d in detectors],
        },
    )
    return {key: bearing for key, bearing in cursor.fetchall() if bearing is not None}


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
    for d in to_snap:
        if d.lon is None:
            placements[d.loop_id] = Placement(
                None, None, None, coordinates_field, "no edge id and no coordinates: cannot place the detector"
            )
    located = [d for d in to_snap if d.lon is not None]
    wrong_way: dict[str, str] = {}  # loop id -> how its named segment runs against its direction
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
            checked = [d for d in by_edge if d.edge_id in edges and d.bearing is not None and d.lon is not None]
            named = _named_bearings(cursor, checked, {edge: seg for edge, (seg, _, _) in edges.items()})
            for d in checked:
                bearing, wanted = named.get(d.loop_id), d.bearing or 0.0
                if bearing is not None and not _agrees(bearing, wanted):
                    wrong_way[d.loop_id] = (
                        f"edge {d.edge_id} runs {_angle(bearing, wanted):.0f}° against the loop's direction"
                        f" {_direction(wanted)}"
                    )
                    located.append(d)  # looked for, as a loop without an edge id is
        candidates: dict[str, list[tuple[int, float, float | None, str]]] = {d.loop_id: [] for d in located}
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
            for key, seg, distance, bearing, source_id in cursor.fetchall():
                candidates[key].append((seg, distance, bearing, source_id))
    where = f"network {network}" if network else "the stored roads"
    for d in located:
        near = candidates[d.loop_id]
        if d.bearing is None:
            chosen = near[0] if near else None
        else:
            chosen = next((c for c in near if _agrees(c[2], d.bearing)), None)
        if d.loop_id in wrong_way:
            off = wrong_way[d.loop_id]
            if chosen is not None:
                reason = f"{off}; placed on {chosen[3]} {chosen[1]:.0f} m away"
                placements[d.loop_id] = Placement(chosen[0], d.lon, d.lat, edge_field, reason)
            else:
                reason = (
                    f"{off}, and no segment of {where} within {tolerance_m:g} m heads that way; kept on {d.edge_id}"
                )
                kept = placements[d.loop_id]
                placements[d.loop_id] = Placement(kept.segment_id, kept.lon, kept.lat, edge_field, reason)
        elif chosen is not None:
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
