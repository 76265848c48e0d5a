"""python manage.py rebuild_district_rollups [--check]: backfill or repair the per-district hourly rollups
from the per-sensor 1 h rollups (apps/telemetry/district_rollups.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.telemetry.district_rollups import drift, rebuild


class Command(BaseCommand):
    help = "Recompute telemetry_district_rollup from telemetry_rollup ('1h'); --check only counts differing rows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="report rows that differ; exit 1 if any")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"]:
            differing = drift()
            if differing:
                raise CommandError(f"{differing} per-district rollup rows differ from the 1 h rollups")
            self.stdout.write("per-district rollups match the 1 h rollups")
            return
        written = rebuild()
        self.stdout.write(f"per-district rollup rows written: {written}")
