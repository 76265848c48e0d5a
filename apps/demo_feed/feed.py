"""The demo feed: one process that runs SUMO (libsumo) on the stored road network with random demand and
publishes what the demo sensors (sensors.py) would measure (measurements.py), over MQTT (publisher.py),
exactly as real devices do (docs/ingest.md): the ingest worker cannot tell it from a real deployment.

libsumo allows ONE simulation per process (docs: /work/shared/NOTES.md), so this runs in its own process
(manage.py run_demo_feed), never inside the web server or a worker that runs scenarios.

Demand never runs out: a pool of validated random routes (apps.simulation.sumo.demand) is made once per
network and seed, and vehicles are drawn from it for as long as the feed runs, at a rate that follows the
local time of day (profiles.py). It is random, not calibrated: the numbers are plausible, not Helsinki's."""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.db import connection
from django.utils import timezone

from apps.sensors.models import Sensor, SensorKind
from apps.simulation.sumo.demand import CITY_FLEET, read_routes, route_pool
from apps.simulation.sumo.detectors import lane_lengths, midpoint_loops, write_additional
from apps.simulation.sumo.network import SumoNetwork, build_network, edge_id
from apps.simulation.sumo.runner import SimulationSpec, libsumo_session

from . import conf
from .devices import DemoSensors, load_demo_sensors
from .measurements import STEP_LENGTH_S, air_quality, energy_values, sample_emissions, traffic_values
from .profiles import demand_factor
from .publisher import Publisher
from .sensors import DEMO_SOURCE

log = logging.getLogger(__name__)

MAX_PENDING_INSERTIONS = 200  # the network is saturated: stop adding until the queue drains


@dataclass(frozen=True)
class FeedOptions:
    """What run_demo_feed's flags set (docs/demo-feed.md)."""

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
    """What a run did, for the command's closing line and the benchmarks."""

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

    def _loop(self, libsumo: Any, routes: list[list[str]], publisher: Publisher) -> None:
        opts = self.options
        assert self.sensors is not None
        stations = self.sensors.stations
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
            sample_emissions(libsumo, stations)
            if sim_t % opts.interval == 0:
                air_quality(stations, interval=opts.interval, local=self._local(sim_t), rng=self.rng, publish=None)
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
            sample_emissions(libsumo, stations)
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
            send(loop.code, "traffic", loop.seq, traffic_values(libsumo, loop))
        air_quality(
            self.sensors.stations,
            interval=interval,
            local=self._local(sim_t),
            rng=self.rng,
            publish=lambda s, values: send(s.code, "air_quality", s.seq, values),
        )
        local = when.astimezone(self.zone)
        for meter in self.sensors.meters:
            meter.seq += 1
            send(meter.code, "energy", meter.seq, energy_values(meter, local, interval, self.rng))
        self.stats.intervals += 1
