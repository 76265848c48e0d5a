"""The demo sensors as the feed drives them: what each needs from the database, read once at start (the
SUMO edge and loop detectors of a traffic loop, the edges near an air-quality station with their weights,
a meter's building use and floor area), and the state each keeps between readings (sequence numbers,
emission sums, smoothing, noise). The spatial work happens in PostGIS."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import connection

from apps.energy.profiles import profile_of
from apps.sensors.models import Sensor, SensorKind
from apps.simulation.sumo.network import edge_id, segment_id_of

from .sensors import DEMO_SOURCE

log = logging.getLogger(__name__)

# An air-quality station sees the traffic on the edges within this radius, weighted by 1/(distance + offset).
AQ_RADIUS_M = 150.0
AQ_DISTANCE_OFFSET_M = 20.0


@dataclass
class LoopSensor:
    code: str
    edge: str
    detectors: list[str]
    seq: int = 0


@dataclass
class AirStation:
    code: str
    index: int
    edges: list[tuple[str, float]]  # (edge id, weight 1/m)
    seq: int = 0
    nox_acc: float = 0.0  # weighted emissions summed over the steps of the current interval
    pm_acc: float = 0.0
    travel_acc: float = 0.0
    smoothed: dict[str, float] = field(default_factory=lambda: {"nox": 0.0, "pm2_5": 0.0, "pm10": 0.0})
    drift: float = 0.0  # log-factor of the background, a slow random walk (weather, regional pollution)


@dataclass
class Meter:
    code: str
    profile: str
    floor_area_m2: float
    scale: float  # how this building differs from the profile (insulation, tenants)
    seq: int = 0
    noise: float = 0.0
    last_kw: float | None = None


@dataclass
class DemoSensors:
    loops: list[LoopSensor]
    stations: list[AirStation]
    meters: list[Meter]

    @property
    def count(self) -> int:
        return len(self.loops) + len(self.stations) + len(self.meters)


def load_demo_sensors(net_edges: set[str], lane_counts: dict[str, int]) -> DemoSensors:
    """The active demo sensors and what the feed needs of each; the spatial work (edges near a station,
    floor areas) happens in PostGIS."""
    sensors = list(
        Sensor.objects.filter(source=DEMO_SOURCE, active=True)
        .select_related("road_segment", "building")
        .order_by("code")
    )
    loops: list[LoopSensor] = []
    for s in sensors:
        if s.kind != SensorKind.TRAFFIC:
            continue
        edge = edge_id(s.road_segment_id) if s.road_segment_id else None
        if edge is None or edge not in net_edges:
            log.warning("traffic sensor %s is not on an edge of the SUMO network; skipped", s.code)
            continue
        loops.append(LoopSensor(s.code, edge, [f"{s.code}#{lane}" for lane in range(lane_counts[edge])]))

    aq = [s for s in sensors if s.kind == SensorKind.AIR_QUALITY]
    segment_ids = sorted(sid for e in net_edges if (sid := segment_id_of(e)) is not None)
    weights: dict[int, list[tuple[str, float]]] = {s.id: [] for s in aq}
    if aq:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT se.id, r.id, ST_Distance(se.geom::geography, r.geom::geography)
                FROM sensors_sensor se
                JOIN roads_roadsegment r ON ST_DWithin(se.geom::geography, r.geom::geography, %(radius)s)
                WHERE se.id = ANY(%(sensors)s) AND r.id = ANY(%(segments)s)
                ORDER BY se.id, r.id
                """,
                {"radius": AQ_RADIUS_M, "sensors": [s.id for s in aq], "segments": segment_ids},
            )
            for sensor_id, segment_id, distance in cursor.fetchall():
                weights[sensor_id].append((edge_id(segment_id), 1.0 / (distance + AQ_DISTANCE_OFFSET_M)))
    stations = [AirStation(s.code, i, weights[s.id]) for i, s in enumerate(aq)]

    meters: list[Meter] = []
    energy = [s for s in sensors if s.kind == SensorKind.ENERGY and s.building_id]
    if energy:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT b.id, b.use,
                       ST_Area(b.geom::geography) * coalesce(b.levels, greatest(round(b.height_m / 3.0), 1))
                FROM buildings_building b WHERE b.id = ANY(%s)
                """,
                [[s.building_id for s in energy]],
            )
            buildings = {bid: (use, area) for bid, use, area in cursor.fetchall()}
        for s in energy:
            use, area = buildings[s.building_id]
            profile = (s.tags or {}).get("profile") or profile_of(use)
            # a stable per-meter difference, from the code (not random: the same meter behaves the same)
            scale = 0.85 + 0.3 * (sum(map(ord, s.code)) % 100) / 100
            meters.append(Meter(s.code, profile, float(area), scale))
    return DemoSensors(loops, stations, meters)
