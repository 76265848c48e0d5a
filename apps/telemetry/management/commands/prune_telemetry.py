"""python manage.py prune_telemetry [--days N]: raw-reading retention (rollups are kept)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.telemetry import conf
from apps.telemetry.ingest import ensure_partitions, prune_raw_readings


class Command(BaseCommand):
    help = "Drop raw readings older than the retention (CITYTWIN_RAW_RETENTION_DAYS); create next months' partitions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=conf.raw_retention_days())

    def handle(self, *args: Any, **options: Any) -> None:
        made = ensure_partitions()
        dropped = prune_raw_readings(older_than=timedelta(days=options["days"]))
        self.stdout.write(
            f"partitions created: {made}; monthly partitions dropped: {dropped} (older than {options['days']} days)"
        )
