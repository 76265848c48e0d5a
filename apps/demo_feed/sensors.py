"""Demo sensors on the real city, for the demo feed (feed.py) to drive: traffic loops on main roads
that are edges of the SUMO network, air-quality stations at the kerb of busy roads, energy meters on
buildings of different uses.

The choice is deterministic (ordered by stored attributes and natural keys, never by random numbers or
database ids), so running the command again, or on a reloaded copy of the same city, picks the same places
under the same codes. Sensors are upserted by code with source "demo"; a demo sensor the new choice no
longer holds is switched off, not deleted, so its readings stay."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection, transaction

from apps.core.geo import DEFAULT_METRIC_SRID
from apps.energy.profiles import PROFILE_USES
from apps.sensors.models import Sensor, SensorKind
from apps.simulation.sumo.network import SumoNetwork, build_network

DEMO_SOURCE = "demo"
LOOP_CLASSES = ("primary", "secondary", "tertiary")
AQ_CLASSES = ("primary", "secondary")
MIN_LOOP_SEGMENT_M = 20.0  # shorter segments are mostly junction approaches: a loop there measures queues
LOOP_CELL_M = 200.0  # at most one loop per cell of this size, then the cells farthest apart win
KERB_OFFSET_M = 8.0  # an air-quality station stands on the pavement, to the right of the traffic
MIN_METER_FOOTPRINT_M2 = 100.0

# Energy meters per load profile (apps/energy/profiles.py), in the order they are numbered, with the OSM
# building=* values that profile covers (PROFILE_USES). None: every building of that use gets a meter (homes,
# offices and building=yes, which in central Helsinki are mostly offices and flats over shops), so that the
# public district figures pass the privacy module's k-threshold (docs/privacy.md). Shortfalls of a
# counted quota are filled from "mixed" (building=yes: use unknown).
METER_QUOTAS: list[tuple[str, int | None, tuple[str, ...]]] = [
    (profile, quota, PROFILE_USES[profile])
    for profile, quota in (
        ("residential", None),
        ("office", None),
        ("retail", 4),
        ("school", 3),
        ("hotel", 1),
        ("public", 4),
        ("mixed", None),
    )
]


# A segment traffic can pass through: some other edge of the net leads into it and some other edge (not
# the way back) leads on. Stubs cut by the extract's border only see the few trips that start or end on
# them: a loop there would count almost nothing.
THROUGH = """
    EXISTS (SELECT 1 FROM roads_roadsegment i WHERE i.to_node_id = s.from_node_id AND i.id = ANY(%(ids)s)
            AND i.from_node_id <> s.to_node_id)
    AND EXISTS (SELECT 1 FROM roads_roadsegment o WHERE o.from_node_id = s.to_node_id AND o.id = ANY(%(ids)s)
                AND o.to_node_id <> s.from_node_id)
"""


def metric_srid() -> int:
    return int(getattr(settings, "CITYTWIN_METRIC_SRID", DEFAULT_METRIC_SRID))


@dataclass(frozen=True)
class Site:
    """A place chosen for a demo sensor."""

    key: str  # natural key of what it sits on, for deterministic tie-breaks
    x: float  # metric coordinates, for spreading
    y: float
    lon: float
    lat: float
    name: str
    road_segment_id: int | None = None
    building_id: int | None = None
    profile: str = ""


@dataclass
class DemoSensorsResult:
    created: list[Sensor] = field(default_factory=list)
    updated: list[Sensor] = field(default_factory=list)
    unchanged: list[Sensor] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)

    @property
    def sensors(self) -> list[Sensor]:
        return sorted(self.created + self.updated + self.unchanged, key=lambda s: s.code)


def spread(sites: Sequence[Site], count: int) -> list[Site]:
    """Farthest-point sampling: start with the first (best) site, then repeatedly take the site farthest
    from those already taken. Spreads sensors over the whole city instead of clustering on one avenue."""
    remaining = list(sites)
    if not remaining:
        return []
    chosen = [remaining.pop(0)]
    while remaining and len(chosen) < count:
        best = max(
            range(len(remaining)),
            # ties (equal distances) go to the earlier, better-ranked site
            key=lambda i: (min(math.dist((remaining[i].x, remaining[i].y), (c.x, c.y)) for c in chosen), -i),
        )
        chosen.append(remaining.pop(best))
    return chosen


def _bound(azimuth: float | None) -> str:
    if azimuth is None:
        return ""
    return ("northbound", "eastbound", "southbound", "westbound")[int(((math.degrees(azimuth) + 45) % 360) // 90)]


def loop_sites(segment_ids: set[int], count: int) -> list[Site]:
    """Main-road segments of the SUMO net, long enough for a loop, one per grid cell, spread out. The loop
    sits at the segment's midpoint."""
    sql = f"""
        WITH cand AS (
            SELECT s.id, s.source, s.source_id, s.name, s.highway, s.length_m,
                   ST_LineInterpolatePoint(s.geom, 0.5) AS mid,
                   ST_Azimuth(ST_StartPoint(s.geom), ST_EndPoint(s.geom)) AS azimuth,
                   ST_Transform(ST_LineInterpolatePoint(s.geom, 0.5), %(srid)s) AS mid_m,
                   array_position(%(classes)s::text[], s.highway) AS rank
            FROM roads_roadsegment s
            WHERE s.id = ANY(%(ids)s) AND s.highway = ANY(%(classes)s) AND s.length_m >= %(min_len)s
              AND {THROUGH}
        )
        SELECT DISTINCT ON (floor(ST_X(mid_m) / %(cell)s), floor(ST_Y(mid_m) / %(cell)s))
               id, source || ':' || source_id, name, highway, azimuth, ST_X(mid_m), ST_Y(mid_m), ST_X(mid), ST_Y(mid),
               rank, length_m
        FROM cand
        ORDER BY floor(ST_X(mid_m) / %(cell)s), floor(ST_Y(mid_m) / %(cell)s), rank, length_m DESC, source_id
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "srid": metric_srid(),
                "classes": list(LOOP_CLASSES),
                "ids": sorted(segment_ids),
                "min_len": MIN_LOOP_SEGMENT_M,
                "cell": LOOP_CELL_M,
            },
        )
        rows = cursor.fetchall()
    rows.sort(key=lambda r: (r[9], -r[10], r[1]))  # best first: primary, then longest
    sites = [
        Site(
            key=key,
            x=x,
            y=y,
            lon=lon,
            lat=lat,
            name=" ".join(part for part in (name or highway.title(), _bound(azimuth)) if part),
            road_segment_id=sid,
        )
        for sid, key, name, highway, azimuth, x, y, lon, lat, _rank, _length in rows
    ]
    return spread(sites, count)


def air_quality_sites(segment_ids: set[int], count: int) -> list[Site]:
    """Kerbside stations by the busiest roads: in each district the best primary/secondary segment (most
    lanes, then longest), then districts spread out. Without districts, 500 m grid cells stand in."""
    sql = f"""
        WITH cand AS (
            SELECT s.id, s.source, s.source_id, s.name, s.highway, s.lanes, s.length_m,
                   ST_Project(ST_LineInterpolatePoint(s.geom, 0.5)::geography, %(offset)s,
                              ST_Azimuth(ST_LineInterpolatePoint(s.geom, 0.45), ST_LineInterpolatePoint(s.geom, 0.55))
                              + pi() / 2)::geometry AS site,
                   array_position(%(classes)s::text[], s.highway) AS rank
            FROM roads_roadsegment s
            WHERE s.id = ANY(%(ids)s) AND s.highway = ANY(%(classes)s) AND s.length_m >= %(min_len)s
              AND {THROUGH}
        ), zoned AS (
            SELECT c.*, ST_Transform(c.site, %(srid)s) AS site_m,
                   coalesce('d' || d.id::text,
                            'g' || floor(ST_X(ST_Transform(c.site, %(srid)s)) / 500)::text || '/'
                                || floor(ST_Y(ST_Transform(c.site, %(srid)s)) / 500)::text) AS zone
            FROM cand c LEFT JOIN LATERAL (
                SELECT d.id FROM districts_district d WHERE ST_Intersects(d.geom, c.site) ORDER BY d.id LIMIT 1
            ) d ON true
        )
        SELECT DISTINCT ON (zone) id, source || ':' || source_id, name, highway,
               ST_X(site_m), ST_Y(site_m), ST_X(site), ST_Y(site), rank, coalesce(lanes, 1), length_m
        FROM zoned
        ORDER BY zone, rank, coalesce(lanes, 1) DESC, length_m DESC, source_id
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "srid": metric_srid(),
                "classes": list(AQ_CLASSES),
                "ids": sorted(segment_ids),
                "min_len": MIN_LOOP_SEGMENT_M,
                "offset": KERB_OFFSET_M,
            },
        )
        rows = cursor.fetchall()
    rows.sort(key=lambda r: (r[8], -r[9], -r[10], r[1]))
    sites = [
        Site(key=key, x=x, y=y, lon=lon, lat=lat, name=f"{name or highway.title()} air quality")
        for _sid, key, name, highway, x, y, lon, lat, _rank, _lanes, _length in rows
    ]
    return spread(sites, count)


def meter_sites(count: int | None = None) -> list[Site]:
    """Buildings of different uses (METER_QUOTAS), the largest floor area of each use first, at most
    `count` (None: all the quotas choose). The meter sits on a point inside the footprint."""
    sql = """
        SELECT b.id, b.source || ':' || b.source_id, b.name, b.use,
               ST_X(ST_Transform(p, %(srid)s)), ST_Y(ST_Transform(p, %(srid)s)), ST_X(p), ST_Y(p),
               ST_Area(b.geom::geography) * coalesce(b.levels, greatest(round(b.height_m / 3.0), 1)) AS floor_area
        FROM buildings_building b CROSS JOIN LATERAL ST_PointOnSurface(b.geom) AS p
        WHERE ST_Area(b.geom::geography) >= %(min_area)s
        ORDER BY floor_area DESC, b.source, b.source_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"srid": metric_srid(), "min_area": MIN_METER_FOOTPRINT_M2})
        rows = cursor.fetchall()
    taken: set[str] = set()
    chosen: list[Site] = []

    def take(profile: str, uses: tuple[str, ...], n: int | None) -> None:
        for bid, key, name, use, x, y, lon, lat, _area in rows:
            if n is not None and n <= 0:
                return
            if use in uses and key not in taken:
                taken.add(key)
                kind = "Building" if use == "yes" else use.replace("_", " ").capitalize()
                label = name or f"{kind} {key.split(':', 1)[-1]}"
                chosen.append(Site(key, x, y, lon, lat, f"{label} energy meter", building_id=bid, profile=profile))
                if n is not None:
                    n -= 1

    mixed_uses = next(uses for profile, _, uses in METER_QUOTAS if profile == "mixed")
    for profile, quota, uses in METER_QUOTAS:
        before = len(chosen)
        take(profile, uses, quota)
        shortfall = 0 if quota is None else quota - (len(chosen) - before)
        if shortfall:
            take("mixed", mixed_uses, shortfall)
    return chosen if count is None else chosen[:count]


def _upsert(code: str, kind: str, site: Site, result: DemoSensorsResult) -> None:
    wanted = {
        "name": site.name[:255],
        "kind": kind,
        "road_segment_id": site.road_segment_id,
        "building_id": site.building_id,
        "active": True,
        "source": DEMO_SOURCE,
        "source_id": code,
        "tags": {"profile": site.profile} if site.profile else {},
    }
    point = Point(site.lon, site.lat, srid=4326)
    sensor = Sensor.objects.filter(code=code).first()
    if sensor is None:
        result.created.append(Sensor.objects.create(code=code, geom=point, **wanted))
        return
    changed = [name for name, value in wanted.items() if getattr(sensor, name) != value]
    # a millimetre is no move: coordinates pass through float formatting in SQL
    if sensor.geom is None or sensor.geom.distance(point) > 1e-8:
        changed.append("geom")
        sensor.geom = point
    if not changed:
        result.unchanged.append(sensor)
        return
    for name in changed:
        if name != "geom":
            setattr(sensor, name, wanted[name])
    sensor.save()
    result.updated.append(sensor)


@transaction.atomic
def create_demo_sensors(
    *,
    network: SumoNetwork | None = None,
    prefix: str = "hel",
    loops: int = 16,
    stations: int = 5,
    meters: int | None = None,
) -> DemoSensorsResult:
    """Upsert the demo sensors (codes <prefix>-loop-NNN, <prefix>-aq-NNN, <prefix>-meter-NNN). Loops are
    placed only on segments that are edges of the SUMO network, so the feed can measure every one. `meters`:
    at most this many energy meters (None: every building METER_QUOTAS chooses)."""
    net = network or build_network()
    in_net = net.segment_ids()
    result = DemoSensorsResult()
    wanted_codes: set[str] = set()
    plan = [
        ("loop", SensorKind.TRAFFIC, loop_sites(in_net, loops)),
        ("aq", SensorKind.AIR_QUALITY, air_quality_sites(in_net, stations)),
        ("meter", SensorKind.ENERGY, meter_sites(meters)),
    ]
    for infix, kind, sites in plan:
        for number, site in enumerate(sites, start=1):
            code = f"{prefix}-{infix}-{number:03d}"
            wanted_codes.add(code)
            _upsert(code, kind, site, result)
    stale = Sensor.objects.filter(source=DEMO_SOURCE, code__startswith=f"{prefix}-", active=True).exclude(
        code__in=wanted_codes
    )
    result.deactivated = sorted(stale.values_list("code", flat=True))
    stale.update(active=False)
    return result
