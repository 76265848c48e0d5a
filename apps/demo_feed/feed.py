"""The demo feed: one process that runs SUMO (libsumo) on the stored road network with random demand and
publishes what the demo sensors (sensors.py) would measure, over MQTT, exactly as real devices do
(docs/ingest.md): the ingest worker cannot tell it from a real deployment.

- Traffic loops: SUMO induction loops (e1) on every lane of the loop's edge, read per interval.
- Air quality: a background level plus the traffic emissions SUMO computes (HBEFA 4) on the edges within
  150 m of the station, weighted by 1/(distance + 20 m), smoothed like a real analyser, plus noise.
- Energy meters: a load profile by building use scaled by floor area, plus noise.
- Weather (temperature, humidity): a seasonal and daily cycle for the city's latitude.

libsumo allows ONE simulation per process (docs: /work/shared/NOTES.md), so this runs in its own process
(manage.py run_demo_feed), never inside the web server or a worker that runs scenarios.

Demand never runs out: a pool of validated random routes (SUMO's randomTrips.py + duarouter) is made once
per network and seed, and vehicles are drawn from it for as long as the feed runs, at a rate that follows
the local time of day. It is random, not calibrated: the numbers are plausible, not Helsinki's."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import numpy as np
import paho.mqtt.client as mqtt
from django.db import connection
from django.utils import timezone

from apps.sensors.models import Sensor, SensorKind
from apps.simulation.sumo.demand import CITY_FLEET, read_routes, route_pool
from apps.simulation.sumo.detectors import lane_lengths, midpoint_loops, write_additional
from apps.simulation.sumo.network import SumoNetwork, build_network, edge_id, segment_id_of
from apps.simulation.sumo.runner import SimulationSpec, libsumo_session

from . import conf
from .sensors import DEMO_SOURCE

log = logging.getLogger(__name__)

TOPIC = "citytwin/v1/sensors/{code}/readings"
STEP_LENGTH_S = 1.0

# --- demand -------------------------------------------------------------------------------------------

# Share of the peak-hour demand per local hour (0..23), shaped like urban weekday/weekend counts: two rush
# hours on weekdays, a broad midday on weekends, little at night.
# fmt: off
WEEKDAY_DEMAND = (
    0.12, 0.08, 0.06, 0.06, 0.10, 0.25, 0.55, 0.90, 1.00, 0.80, 0.70, 0.72,
    0.75, 0.75, 0.80, 0.92, 1.00, 0.95, 0.75, 0.60, 0.50, 0.40, 0.30, 0.20,
)
WEEKEND_DEMAND = (
    0.20, 0.15, 0.10, 0.08, 0.08, 0.10, 0.18, 0.30, 0.45, 0.60, 0.70, 0.75,
    0.78, 0.78, 0.75, 0.72, 0.70, 0.65, 0.60, 0.50, 0.42, 0.35, 0.30, 0.25,
)
# fmt: on

MAX_PENDING_INSERTIONS = 200  # the network is saturated: stop adding until the queue drains

# --- air quality ----------------------------------------------------------------------------------------

AQ_RADIUS_M = 150.0
AQ_DISTANCE_OFFSET_M = 20.0
# Emission (mg/s, weighted by 1/m) -> concentration (µg/m³): C = 1000 * E / (wind speed * mixing height).
# 1 m/s x 10 m (a street canyon's weak ventilation) puts the busiest demo station ~15 µg/m³ NO2 above the
# background at the peak hour, near the usual gap between Helsinki's traffic and background stations.
DISPERSION_M2_S = 10.0
NO2_SHARE_OF_NOX = 0.3  # primary NO2 plus fast conversion near the road
# Non-exhaust particles (brakes, tyres, road dust) per vehicle-metre; in Nordic cities they dominate PM10.
NON_EXHAUST_PM25_MG_PER_M = 0.005
NON_EXHAUST_PM10_MG_PER_M = 0.030
AQ_SMOOTHING_S = 180.0  # an analyser's averaging plus mixing in the street
BACKGROUND = {"no2": 12.0, "pm2_5": 5.0, "pm10": 10.0}  # µg/m³, urban background
MEASUREMENT_NOISE = {"no2": 1.0, "pm2_5": 0.4, "pm10": 0.8}  # standard deviation, µg/m³

# --- energy ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadProfile:
    """Electric load of a building use: peak W per m² of floor area and the share of the peak per local hour."""

    peak_w_m2: float
    weekday: tuple[float, ...]
    weekend: tuple[float, ...]


# fmt: off
_OFFICE_WEEKDAY = (
    0.25, 0.25, 0.25, 0.25, 0.25, 0.30, 0.45, 0.75, 0.95, 1.00, 1.00, 1.00,
    0.95, 1.00, 1.00, 0.95, 0.85, 0.65, 0.45, 0.35, 0.30, 0.28, 0.26, 0.25,
)
# Households: a morning bump, the evening peak (cooking, sauna, lights), a night base.
_HOME_WEEKDAY = (
    0.35, 0.30, 0.28, 0.28, 0.30, 0.40, 0.60, 0.75, 0.65, 0.50, 0.45, 0.45,
    0.48, 0.45, 0.45, 0.50, 0.65, 0.85, 1.00, 1.00, 0.95, 0.80, 0.60, 0.45,
)
_HOME_WEEKEND = (
    0.38, 0.32, 0.30, 0.28, 0.28, 0.30, 0.38, 0.50, 0.65, 0.75, 0.75, 0.72,
    0.70, 0.65, 0.62, 0.65, 0.75, 0.90, 1.00, 1.00, 0.95, 0.82, 0.62, 0.48,
)
_HOTEL_WEEKDAY = (
    0.55, 0.50, 0.50, 0.50, 0.50, 0.55, 0.75, 0.95, 0.90, 0.70, 0.65, 0.65,
    0.70, 0.65, 0.65, 0.70, 0.75, 0.85, 0.95, 1.00, 0.95, 0.85, 0.70, 0.60,
)
_HOTEL_WEEKEND = (
    0.55, 0.50, 0.50, 0.50, 0.50, 0.55, 0.65, 0.85, 0.95, 0.85, 0.70, 0.65,
    0.70, 0.65, 0.65, 0.70, 0.75, 0.85, 0.95, 1.00, 0.95, 0.85, 0.70, 0.60,
)
# fmt: on


def _by_hour(rule: Callable[[int], float]) -> tuple[float, ...]:
    return tuple(rule(h) for h in range(24))


LOAD_PROFILES: dict[str, LoadProfile] = {
    "residential": LoadProfile(6.0, _HOME_WEEKDAY, _HOME_WEEKEND),
    "office": LoadProfile(15.0, _OFFICE_WEEKDAY, _by_hour(lambda h: 0.25)),
    "public": LoadProfile(12.0, _OFFICE_WEEKDAY, _by_hour(lambda h: 0.35 if 10 <= h < 16 else 0.25)),
    "retail": LoadProfile(
        25.0,
        _by_hour(lambda h: 0.30 if h < 7 or h >= 22 else 0.55 if h in (7, 8, 21) else 1.0),
        _by_hour(lambda h: 0.30 if h < 9 or h >= 21 else 0.55 if h in (9, 20) else 0.9),
    ),
    "school": LoadProfile(
        10.0, _by_hour(lambda h: 1.0 if 8 <= h < 15 else 0.5 if h in (7, 15, 16) else 0.2), _by_hour(lambda h: 0.2)
    ),
    "hotel": LoadProfile(12.0, _HOTEL_WEEKDAY, _HOTEL_WEEKEND),
    "mixed": LoadProfile(10.0, _OFFICE_WEEKDAY, _by_hour(lambda h: 0.35 + 0.15 * math.sin(math.pi * h / 24))),
}


def _hourly(values: tuple[float, ...], local: datetime) -> float:
    """Linear interpolation between hourly values, so loads and demand never jump at the full hour."""
    hour = local.hour + local.minute / 60 + local.second / 3600
    lower = int(hour) % 24
    frac = hour - int(hour)
    return values[lower] * (1 - frac) + values[(lower + 1) % 24] * frac


def demand_factor(local: datetime) -> float:
    return _hourly(WEEKEND_DEMAND if local.weekday() >= 5 else WEEKDAY_DEMAND, local)


def load_factor(profile: str, local: datetime) -> float:
    p = LOAD_PROFILES.get(profile, LOAD_PROFILES["mixed"])
    return _hourly(p.weekend if local.weekday() >= 5 else p.weekday, local)


def weather(local: datetime, station_index: int) -> tuple[float, float]:
    """(temperature °C, relative humidity %) for a coastal city at ~60° N: seasonal mean -5 °C (late January)
    to 18 °C (late July), warmest at 15:00, humidity highest before dawn. Stations differ by a few tenths
    of a degree (street canyons, parks). Changes are hundredths of a degree per minute: far inside the
    quality gate's 5 °C/min."""
    day = local.timetuple().tm_yday
    season = -math.cos(2 * math.pi * (day - 22) / 365.25)  # -1 late January, +1 late July
    mean = 6.5 + 11.5 * season
    amplitude = 2.5 + 1.5 * season
    hour = local.hour + local.minute / 60 + local.second / 3600
    daily = math.cos(2 * math.pi * (hour - 15) / 24)
    temperature = mean + amplitude * daily + 0.3 * ((station_index % 3) - 1)
    humidity = 78 - 5 * season - 12 * daily - 2 * (station_index % 2)
    return temperature, min(max(humidity, 15.0), 99.0)


# --- sensors --------------------------------------------------------------------------------------------


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
            profile = (s.tags or {}).get("profile") or _profile_of(use)
            # a stable per-meter difference, from the code (not random: the same meter behaves the same)
            scale = 0.85 + 0.3 * (sum(map(ord, s.code)) % 100) / 100
            meters.append(Meter(s.code, profile, float(area), scale))
    return DemoSensors(loops, stations, meters)


def _profile_of(use: str) -> str:
    from .sensors import METER_QUOTAS

    for profile, _quota, uses in METER_QUOTAS:
        if use in uses:
            return profile
    return "mixed"


# --- MQTT -----------------------------------------------------------------------------------------------


class Publisher:
    """Publishes readings with QoS 1 like a device (docs/ingest.md): paho reconnects by itself after a
    broker outage and sends what it queued meanwhile (up to max_queued; beyond that readings are dropped
    and counted), and after every reconnect the last REPLAY_S seconds are published again, because the
    broker acknowledges before it persists. Ingest stores the repeats once."""

    REPLAY_S = 5.0

    def __init__(self, url: str, *, client_id: str, max_queued: int = 20_000) -> None:
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 1883
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        if parsed.username:
            self.client.username_pw_set(parsed.username, parsed.password)
        if parsed.scheme in ("mqtts", "ssl"):
            self.client.tls_set()
        self.client.max_queued_messages_set(max_queued)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.connected = threading.Event()
        self.closing = False
        self._lock = threading.Lock()
        self.published = 0  # handed to paho
        self.acked = 0  # acknowledged by the broker (PUBACK)
        self.dropped = 0  # paho's queue was full (a long outage)
        self.replayed = 0
        self._recent: deque[tuple[float, str, str]] = deque()  # (monotonic time, topic, payload)
        self._connects = 0

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            log.error("MQTT connect refused: %s", reason)
            return
        log.info("connected to MQTT %s:%s", self.host, self.port)
        self._connects += 1
        if self._connects > 1:  # a reconnect: replay the window (from paho's thread, so no lock dance)
            with self._lock:
                recent = [(topic, payload) for _, topic, payload in self._recent]
            for topic, payload in recent:
                client.publish(topic, payload, qos=1)
            self.replayed += len(recent)
            log.info("replayed the last %d readings after the reconnect", len(recent))
        self.connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if self.connected.is_set() and not self.closing:
            log.warning("MQTT connection lost (%s); reconnecting, readings are queued", reason)
        self.connected.clear()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        with self._lock:
            self.acked += 1

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def publish(self, code: str, when: datetime, seq: int, values: dict[str, float]) -> None:
        payload = json.dumps(
            {"time": when.isoformat(timespec="milliseconds"), "seq": seq, "values": values}, separators=(",", ":")
        )
        topic = TOPIC.format(code=code)
        now = time.monotonic()
        with self._lock:
            self._recent.append((now, topic, payload))
            while self._recent and self._recent[0][0] < now - self.REPLAY_S:
                self._recent.popleft()
        info = self.client.publish(topic, payload, qos=1)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            self.dropped += 1
        else:  # MQTT_ERR_NO_CONN too: queued, sent after the reconnect
            self.published += 1

    @property
    def pending(self) -> int:
        with self._lock:
            return self.published - self.acked

    def close(self, *, timeout: float = 10.0) -> None:
        """Wait (bounded) until the broker has acknowledged what was published, then disconnect."""
        deadline = time.monotonic() + timeout
        while self.pending > 0 and self.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.pending > 0:
            log.warning("%d readings not acknowledged by the broker at shutdown", self.pending)
        self.closing = True
        self.client.disconnect()
        self.client.loop_stop()


# --- the feed -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedOptions:
    url: str
    speed: float = 1.0  # simulated seconds per wall second; 0: as fast as possible
    seconds: float | None = None  # simulated seconds to publish (after the warm-up); None: until stopped
    interval: int = 10  # simulated seconds between readings
    seed: int = 42
    period: float = 1.0  # seconds between vehicle departures at the busiest hour
    constant_demand: bool = False  # ignore the time of day: always the peak rate
    warmup: int = 300  # simulated seconds before the first reading (the network fills with traffic)
    client_id: str | None = None


@dataclass
class FeedStats:
    sim_seconds: float = 0.0  # published, after the warm-up
    wall_seconds: float = 0.0  # the same stretch on the wall clock
    warmup_wall_seconds: float = 0.0
    startup_wall_seconds: float = 0.0  # routes, detectors, SUMO start
    intervals: int = 0
    published: int = 0
    dropped: int = 0
    inserted: int = 0
    teleports: int = 0
    per_kind: dict[str, int] = field(default_factory=lambda: {"traffic": 0, "air_quality": 0, "energy": 0})

    @property
    def speed(self) -> float:
        return self.sim_seconds / self.wall_seconds if self.wall_seconds else 0.0


class DemoFeed:
    """Runs the simulation and publishes readings; `stop_event` (set by SIGTERM/SIGINT) ends it cleanly."""

    def __init__(self, options: FeedOptions, *, network: SumoNetwork | None = None) -> None:
        if options.interval < 1:
            raise ValueError("interval must be at least 1 simulated second")
        if options.speed < 0:
            raise ValueError("speed must be 0 (as fast as possible) or positive")
        self.options = options
        self.network = network or build_network()
        self.stop_event = threading.Event()
        self.stats = FeedStats()
        self.rng = np.random.default_rng(options.seed)
        self.zone = ZoneInfo(conf.local_timezone())
        self.sensors: DemoSensors | None = None
        self._clock: Callable[[float], datetime] = lambda sim_t: timezone.now()
        self._started_wall = time.monotonic()

    # -- clock: wall time at real-time speed; otherwise a simulated clock anchored when publishing starts,
    #    so that readings are spaced by the interval and the quality gate's rate checks make sense.
    def _anchor_clock(self, sim_start: float) -> None:
        anchor = timezone.now()
        if self.options.speed == 1.0:
            self._clock = lambda sim_t: timezone.now()
        else:
            self._clock = lambda sim_t: anchor + timedelta(seconds=sim_t - sim_start)

    def _local(self, sim_t: float) -> datetime:
        return self._clock(sim_t).astimezone(self.zone)

    def run(self) -> FeedStats:
        opts = self.options
        self._started_wall = time.monotonic()
        net_edges = self.network.edge_ids()
        routes = read_routes(route_pool(self.network, seed=opts.seed))
        if not routes:
            raise RuntimeError("the route pool is empty: the network has no drivable routes")
        loops_edges = {
            edge_id(sid)
            for sid in Sensor.objects.filter(source=DEMO_SOURCE, active=True, kind=SensorKind.TRAFFIC)
            .exclude(road_segment=None)
            .values_list("road_segment_id", flat=True)
        } & net_edges
        lengths = lane_lengths(self.network, loops_edges)
        sensors = load_demo_sensors(net_edges, {e: len(v) for e, v in lengths.items()})
        self.sensors = sensors
        aq_edges = sorted({e for s in sensors.stations for e, _ in s.edges})
        log.info(
            "demo feed: %d loops, %d air-quality stations (%d edges in range), %d meters; %d routes; network %s",
            len(sensors.loops),
            len(sensors.stations),
            len(aq_edges),
            len(sensors.meters),
            len(routes),
            self.network.network_hash,
        )
        # The feed never queries the database again: give the connection back.
        connection.close()
        if opts.speed != 1.0:
            ahead = "runs ahead of" if opts.speed == 0 or opts.speed > 1 else "lags behind"
            log.info(
                "speed %g: readings carry the simulated clock, which %s the wall clock; the ingest refuses "
                "readings more than 5 minutes ahead (future_time)",
                opts.speed,
                ahead,
            )
        publisher = Publisher(opts.url, client_id=opts.client_id or f"citytwin-demo-feed-{os.getpid()}")
        publisher.start()
        run_dir = Path(tempfile.mkdtemp(prefix=".feed-", dir=self.network.directory))
        try:
            loops = [
                detector
                for loop in sensors.loops
                for detector in midpoint_loops(loop.edge, loop.detectors, lengths[loop.edge], opts.interval)
            ]
            additional = write_additional(run_dir / "demo-feed.add.xml", fleet=CITY_FLEET, loops=loops)
            spec = SimulationSpec(
                net_file=self.network.net_file,
                additional_files=(additional,),
                step_length_s=STEP_LENGTH_S,
                seed=opts.seed,
                options=(
                    "--no-step-log",
                    "--no-warnings",
                    "--time-to-teleport",
                    "120",  # a vehicle stuck this long jumps ahead instead of locking a junction for good
                    "--max-depart-delay",
                    "120",  # give up on a departure that cannot enter (the pool supplies more)
                    "--ignore-route-errors",
                ),
            )
            with libsumo_session(spec) as libsumo:
                for i, edges in enumerate(routes):
                    libsumo.route.add(f"r{i}", edges)
                self._loop(libsumo, routes, publisher)
        finally:
            self.stats.dropped = publisher.dropped
            publisher.close()
            shutil.rmtree(run_dir, ignore_errors=True)
        return self.stats

    def _insert(self, libsumo: Any, routes: list[list[str]], sim_t: float) -> None:
        factor = 1.0 if self.options.constant_demand else demand_factor(self._local(sim_t))
        if len(libsumo.simulation.getPendingVehicles()) > MAX_PENDING_INSERTIONS:
            return
        for _ in range(int(self.rng.poisson(STEP_LENGTH_S / self.options.period * factor))):
            self.stats.inserted += 1
            route = int(self.rng.integers(len(routes)))
            libsumo.vehicle.add(
                f"v{self.stats.inserted}", f"r{route}", typeID=CITY_FLEET.id, departLane="best", departSpeed="max"
            )

    def _sample_emissions(self, libsumo: Any) -> None:
        """Add this step's traffic near each station, weighted by 1/m: NOx and exhaust PM (SUMO's per-edge
        sums, mg/s) and the distance driven (for non-exhaust particles). Edges without vehicles cost one call."""
        assert self.sensors is not None
        cache: dict[str, tuple[float, float, float]] = {}
        for station in self.sensors.stations:
            for edge, weight in station.edges:
                values = cache.get(edge)
                if values is None:
                    n = libsumo.edge.getLastStepVehicleNumber(edge)
                    if n == 0:
                        values = (0.0, 0.0, 0.0)
                    else:
                        values = (
                            libsumo.edge.getNOxEmission(edge),
                            libsumo.edge.getPMxEmission(edge),
                            n * libsumo.edge.getLastStepMeanSpeed(edge) * STEP_LENGTH_S,  # vehicle-metres this step
                        )
                    cache[edge] = values
                station.nox_acc += weight * values[0]
                station.pm_acc += weight * values[1]
                station.travel_acc += weight * values[2]

    def _loop(self, libsumo: Any, routes: list[list[str]], publisher: Publisher) -> None:
        opts = self.options
        # Warm up to a whole number of intervals: the loops' intervals then end when readings are due.
        warmup = math.ceil(opts.warmup / opts.interval) * opts.interval
        self._anchor_clock(float(warmup))
        warmup_started = time.monotonic()
        self.stats.startup_wall_seconds = warmup_started - self._started_wall
        sim_t = libsumo.simulation.getTime()
        while sim_t < warmup and not self.stop_event.is_set():
            self._insert(libsumo, routes, sim_t)
            libsumo.simulationStep()
            sim_t = libsumo.simulation.getTime()
            self._sample_emissions(libsumo)
            if sim_t % opts.interval == 0:
                self._air_quality(sim_t, opts.interval, publish=None)
        self._anchor_clock(sim_t)
        publish_start_sim, publish_start_wall = sim_t, time.monotonic()
        self.stats.warmup_wall_seconds = publish_start_wall - warmup_started
        last_log = time.monotonic()
        last_published = 0
        while not self.stop_event.is_set():
            if opts.seconds is not None and sim_t - publish_start_sim >= opts.seconds:
                break
            self._insert(libsumo, routes, sim_t)
            libsumo.simulationStep()
            sim_t = libsumo.simulation.getTime()
            self.stats.teleports += libsumo.simulation.getStartingTeleportNumber()
            self._sample_emissions(libsumo)
            if sim_t % opts.interval == 0:
                self._publish_all(libsumo, publisher, sim_t)
            self.stats.sim_seconds = sim_t - publish_start_sim
            self.stats.wall_seconds = time.monotonic() - publish_start_wall
            if opts.speed > 0:
                due = publish_start_wall + (sim_t - publish_start_sim) / opts.speed
                delay = due - time.monotonic()
                if delay > 0:
                    self.stop_event.wait(delay)
            if time.monotonic() - last_log >= 60:
                last_log = time.monotonic()
                log.info(
                    "demo feed: sim %.0f s, %d vehicles, %d teleports; published %d in the last minute "
                    "(%d per interval), %d awaiting ack, %d dropped; MQTT %s",
                    sim_t,
                    libsumo.vehicle.getIDCount(),
                    self.stats.teleports,
                    self.stats.published - last_published,
                    self.sensors.count if self.sensors else 0,
                    publisher.pending,
                    publisher.dropped,
                    "connected" if publisher.connected.is_set() else "DISCONNECTED",
                )
                last_published = self.stats.published
        self.stats.sim_seconds = sim_t - publish_start_sim

    def _publish_all(self, libsumo: Any, publisher: Publisher, sim_t: float) -> None:
        assert self.sensors is not None
        when = self._clock(sim_t)
        interval = self.options.interval

        def send(code: str, kind: str, seq: int, values: dict[str, float]) -> None:
            publisher.publish(code, when, seq, values)
            self.stats.published += 1
            self.stats.per_kind[kind] += 1

        for loop in self.sensors.loops:
            loop.seq += 1
            send(loop.code, "traffic", loop.seq, self._traffic(libsumo, loop))
        self._air_quality(sim_t, interval, publish=lambda s, values: send(s.code, "air_quality", s.seq, values))
        local = when.astimezone(self.zone)
        for meter in self.sensors.meters:
            meter.seq += 1
            send(meter.code, "energy", meter.seq, self._energy(meter, local, interval))
        self.stats.intervals += 1

    @staticmethod
    def _traffic(libsumo: Any, loop: LoopSensor) -> dict[str, float]:
        """One loop station over all lanes of its direction: vehicles counted, mean speed weighted by
        the vehicles of each lane, occupancy averaged over the lanes (each lane's share of time occupied)."""
        count = 0
        speed_sum = 0.0
        occupancy = 0.0
        for detector in loop.detectors:
            n = libsumo.inductionloop.getLastIntervalVehicleNumber(detector)
            count += n
            if n > 0:
                speed_sum += n * libsumo.inductionloop.getLastIntervalMeanSpeed(detector)
            occupancy += libsumo.inductionloop.getLastIntervalOccupancy(detector)
        values: dict[str, float] = {
            "vehicle_count": count,
            "occupancy_pct": round(min(max(occupancy / len(loop.detectors), 0.0), 100.0), 1),
        }
        if count:  # no vehicle, no speed: a real loop reports nothing rather than 0 km/h
            values["mean_speed_kmh"] = round(max(speed_sum / count * 3.6, 0.0), 1)
        return values

    def _air_quality(
        self, sim_t: float, interval: int, publish: Callable[[AirStation, dict[str, float]], None] | None
    ) -> None:
        """Turn the interval's summed emissions into concentrations; publish unless warming up."""
        assert self.sensors is not None
        keep = math.exp(-interval / AQ_SMOOTHING_S)
        local = self._local(sim_t)
        for station in self.sensors.stations:
            # One sample per step of STEP_LENGTH_S (1 s): the sum over the interval / its seconds is the
            # interval's mean rate (mg/s, vehicle-metres/s), weighted by 1/m.
            samples = interval / STEP_LENGTH_S
            nox = station.nox_acc / samples
            pm_exhaust = station.pm_acc / samples
            travel = station.travel_acc / samples / STEP_LENGTH_S
            station.nox_acc = station.pm_acc = station.travel_acc = 0.0
            to_ugm3 = 1000.0 / DISPERSION_M2_S
            targets = {
                "nox": nox * to_ugm3,
                "pm2_5": (pm_exhaust + travel * NON_EXHAUST_PM25_MG_PER_M) * to_ugm3,
                "pm10": (pm_exhaust + travel * NON_EXHAUST_PM10_MG_PER_M) * to_ugm3,
            }
            for name, target in targets.items():
                station.smoothed[name] = keep * station.smoothed[name] + (1 - keep) * target
            # the regional background wanders slowly (AR(1), ~1 h memory, ±15 %)
            station.drift = station.drift * math.exp(-interval / 3600) + float(self.rng.normal(0, 0.15)) * math.sqrt(
                1 - math.exp(-2 * interval / 3600)
            )
            background = math.exp(station.drift)
            no2 = BACKGROUND["no2"] * background + NO2_SHARE_OF_NOX * station.smoothed["nox"]
            pm25 = BACKGROUND["pm2_5"] * background + station.smoothed["pm2_5"]
            pm10 = max(BACKGROUND["pm10"] * background + station.smoothed["pm10"], pm25)
            if publish is None:
                continue
            temperature, humidity = weather(local, station.index)
            station.seq += 1
            values = {
                "no2": self._noisy(no2, MEASUREMENT_NOISE["no2"]),
                "pm2_5": self._noisy(pm25, MEASUREMENT_NOISE["pm2_5"]),
                "pm10": self._noisy(pm10, MEASUREMENT_NOISE["pm10"]),
                "temperature_c": round(temperature + float(self.rng.normal(0, 0.05)), 2),
                "humidity_pct": round(min(max(humidity + float(self.rng.normal(0, 0.3)), 0.0), 100.0), 1),
            }
            values["pm10"] = max(values["pm10"], values["pm2_5"])  # PM10 includes PM2.5
            publish(station, values)

    def _noisy(self, value: float, sd: float) -> float:
        return round(max(value + float(self.rng.normal(0, sd)), 0.0), 1)

    def _energy(self, meter: Meter, local: datetime, interval: int) -> dict[str, float]:
        """Power from the load profile (AR(1) noise: appliances switch, loads persist), energy over the
        interval by the trapezoid rule."""
        meter.noise = 0.9 * meter.noise + float(self.rng.normal(0, 0.02))
        peak_kw = meter.floor_area_m2 * LOAD_PROFILES.get(meter.profile, LOAD_PROFILES["mixed"]).peak_w_m2 / 1000
        kw = max(peak_kw * meter.scale * load_factor(meter.profile, local) * (1 + meter.noise), 0.0)
        previous = kw if meter.last_kw is None else meter.last_kw
        meter.last_kw = kw
        return {"active_power_kw": round(kw, 2), "energy_kwh": round((previous + kw) / 2 * interval / 3600, 4)}
