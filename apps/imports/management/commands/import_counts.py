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

MAX_PRINTED_ISSUES = 50


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
        columns = ("read", "created", "updated", "unchanged", "rejected", "warnings")
        header = f"{'':<10}" + "".join(f"{c:>11}" for c in columns)
        self.stdout.write(f"{path.name}: {result.layout} layout")
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for kind, c in result.counts.items():
            self.stdout.write(f"{kind:<10}" + "".join(f"{getattr(c, col):>11}" for col in columns))
        for issue in result.issues[:MAX_PRINTED_ISSUES]:
            style = self.style.ERROR if issue.action == "rejected" else self.style.WARNING
            self.stdout.write(style(str(issue)))
        if len(result.issues) > MAX_PRINTED_ISSUES:
            self.stdout.write(
                f"... and {len(result.issues) - MAX_PRINTED_ISSUES} more (see import run #{result.run.pk})"
            )
        verdict = "Dry run: nothing was written." if options["dry_run"] else "Imported."
        self.stdout.write(self.style.SUCCESS(f"{verdict} Import run #{result.run.pk}, {elapsed:.1f} s."))
