"""python manage.py create_demo_sensors: traffic loops, air-quality stations and energy meters on the
loaded city, for the demo feed. Idempotent: run it again and nothing changes (see apps/demo_feed/sensors.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.demo_feed.sensors import create_demo_sensors


class Command(BaseCommand):
    help = "Create (or update) the demo sensors on the loaded city; builds the SUMO network if needed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--prefix", default="hel", help="Code prefix: <prefix>-loop-001 etc. (default: hel).")
        parser.add_argument("--loops", type=int, default=16)
        parser.add_argument("--stations", type=int, default=5, help="Air-quality stations.")
        parser.add_argument(
            "--meters", type=int, default=None, help="At most this many energy meters (default: all the quotas choose)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = create_demo_sensors(
            prefix=options["prefix"], loops=options["loops"], stations=options["stations"], meters=options["meters"]
        )
        if options["verbosity"] >= 1:
            state = {s.code: "created" for s in result.created}
            state |= {s.code: "updated" for s in result.updated}
            for sensor in result.sensors:
                where = sensor.road_segment or sensor.building or ""
                self.stdout.write(
                    f"{state.get(sensor.code, 'unchanged'):9} {sensor.code:16} {sensor.kind:11} "
                    f"{sensor.geom.x:.6f},{sensor.geom.y:.6f}  {sensor.name}  [{where}]"
                )
            for code in result.deactivated:
                self.stdout.write(f"{'off':9} {code} (no longer chosen; switched off, readings kept)")
            self.stdout.write(
                f"demo sensors: {len(result.created)} created, {len(result.updated)} updated, "
                f"{len(result.unchanged)} unchanged, {len(result.deactivated)} switched off"
            )
