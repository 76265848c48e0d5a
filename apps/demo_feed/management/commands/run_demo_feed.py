"""python manage.py run_demo_feed: SUMO traffic, air quality and energy meters of the demo sensors,
published over MQTT like real devices (apps/demo_feed/feed.py, docs/demo-feed.md)."""

from __future__ import annotations

import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.demo_feed.feed import DemoFeed, FeedOptions


class Command(BaseCommand):
    help = "Run the demo feed: one SUMO simulation (libsumo) publishing the demo sensors' readings over MQTT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default=settings.MQTT_URL, help="Broker URL (default: MQTT_URL).")
        parser.add_argument(
            "--speed", type=float, default=1.0, help="Simulated seconds per wall second (default 1; 0: flat out)."
        )
        parser.add_argument(
            "--seconds", type=float, default=None, help="Stop after this many simulated seconds (default: never)."
        )
        parser.add_argument("--interval", type=int, default=10, help="Simulated seconds between readings.")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (routes, departures, noise).")
        parser.add_argument(
            "--period", type=float, default=1.0, help="Seconds between departures at the busiest hour (default 1)."
        )
        parser.add_argument(
            "--constant-demand", action="store_true", help="Always the busiest hour's demand (ignore time of day)."
        )
        parser.add_argument(
            "--warmup", type=int, default=300, help="Simulated seconds before the first reading (default 300)."
        )
        parser.add_argument("--client-id", default=None, help="MQTT client id (default: citytwin-demo-feed-<pid>).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["period"] <= 0:
            raise CommandError("--period must be positive")
        try:
            feed = DemoFeed(
                FeedOptions(
                    url=options["url"],
                    speed=options["speed"],
                    seconds=options["seconds"],
                    interval=options["interval"],
                    seed=options["seed"],
                    period=options["period"],
                    constant_demand=options["constant_demand"],
                    warmup=options["warmup"],
                    client_id=options["client_id"],
                )
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        def stop(signum: int, frame: Any) -> None:
            feed.stop_event.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"demo feed: {options['url']}, speed {options['speed']:g}, interval {options['interval']} s")
        stats = feed.run()
        self.stdout.write(
            f"demo feed stopped: {stats.sim_seconds:.0f} simulated s in {stats.wall_seconds:.1f} wall s "
            f"({stats.speed:.1f}x; start-up {stats.startup_wall_seconds:.1f} s, warm-up "
            f"{stats.warmup_wall_seconds:.1f} s), {stats.intervals} intervals, {stats.published} readings published "
            f"({stats.per_kind}), {stats.dropped} dropped, {stats.inserted} vehicles, {stats.teleports} teleports"
        )
