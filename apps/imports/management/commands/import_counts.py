"""python manage.py import_counts FILE [--network NAME] [--source NAME] [--time-zone ZONE]
[--snap-tolerance M] [--dry-run]

Loop-detector counts (wide: one row per detector and day with 24 hourly columns; long: one row per detector
and hour) into traffic sensors and their readings; docs/data.md, "Traffic counts". Exit status 1 on a
file-level error, with the file named; per-row problems are listed with file, row, loop id and field."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.imports.counts import DEFAULT_SNAP_TOLERANCE_M, import_counts
from apps.imports.exceptions import ImportFileError
from apps.imports.management.commands._report import print_import_report


class Command(BaseCommand):
    help = "Import loop-detector counts (wide or long CSV) as traffic sensors and their hourly readings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The count file (CSV, , ; or tab separated).")
        parser.add_argument(
            "--network", help="Place detectors on this network's segments (an imported network's name) by edge id."
        )
        parser.add_argument("--source", help="Dataset name of the sensors' natural key (default: the file name).")
        parser.add_argument(
            "--time-zone",
            help="The zone of the file's local times (default: CITYTWIN_LOCAL_TIMEZONE), e.g. Europe/Rome.",
        )
        parser.add_argument(
            "--snap-tolerance",
            type=float,
            default=DEFAULT_SNAP_TOLERANCE_M,
            help=f"Snap detectors to a segment at most this many metres away (default {DEFAULT_SNAP_TOLERANCE_M:g}).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Check and report everything, write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        started = time.perf_counter()
        try:
            result = import_counts(
                path=path,
                network=options["network"],
                source=options["source"],
                time_zone=options["time_zone"],
                tolerance_m=options["snap_tolerance"],
                dry_run=options["dry_run"],
            )
        except ImportFileError as exc:
            raise CommandError(exc.message) from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(f"{path.name}: {result.layout} layout")
        print_import_report(
            self,
            result,
            dry_run=options["dry_run"],
            columns=("read", "created", "updated", "unchanged", "rejected", "warnings"),
            done="Imported.",
            suffix=f", {elapsed:.1f} s",
        )
