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
        parser.add_argument(
            "--history",
            type=int,
            default=0,
            help="Also write this many hours of past readings (once: skipped when the sensors already have "
            "readings in that window), so the hourly views have something to show on day one.",
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
        if options["history"] > 0:
            self._history(options["prefix"], options["history"], [s.id for s in result.sensors])

    def _history(self, prefix: str, hours: int, ids: list[int]) -> None:
        from datetime import timedelta

        from django.utils import timezone

        from apps.demo_feed.backfill import backfill_demo_history
        from apps.telemetry.models import Reading

        end = timezone.now().replace(minute=0, second=0, microsecond=0)
        if Reading.objects.filter(sensor_id__in=ids, time__gte=end - timedelta(hours=hours), time__lt=end).exists():
            return  # the history was written before (or the feed has run): never twice
        stored = backfill_demo_history(end=end, hours=hours, prefix=prefix)
        self.stderr.write(f"demo history: {stored:,} readings over the last {hours} h")
