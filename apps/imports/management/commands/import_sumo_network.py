"""python manage.py import_sumo_network FILE.net.xml [--name NAME] [--routes FILE.rou.xml ...] [--dry-run]

Imports a georeferenced SUMO network (plain or gzipped) into the road tables: junctions as nodes, normal
edges as directed segments, with the net's own ids as source_id under the source NAME (default: from
the file name). Same report and exit status as load_city; a net without a projection is refused."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.imports.exceptions import ImportFileError
from apps.imports.management.commands._report import print_import_report
from apps.imports.services import import_sumo_network


class Command(BaseCommand):
    help = "Import a georeferenced SUMO network (.net.xml[.gz]) as road nodes and segments."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The SUMO network file.")
        parser.add_argument("--name", help="The network's name: the source of its rows (default: the file name).")
        parser.add_argument(
            "--routes",
            action="append",
            default=[],
            metavar="FILE.rou.xml",
            help="The city model's route file (repeatable): kept as candidate routes when demand is fitted to counts.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Check and report everything, write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        routes = [Path(r) for r in options["routes"]]
        for route_file in routes:
            if not route_file.is_file():
                raise CommandError(f"{route_file}: no such file")
        started = time.perf_counter()
        try:
            result = import_sumo_network(
                path=path, name=options["name"], dry_run=options["dry_run"], route_files=routes
            )
        except ImportFileError as exc:
            raise CommandError(exc.message) from exc
        print_import_report(self, result, dry_run=options["dry_run"])
        if options["verbosity"] >= 2:
            self.stdout.write(f"{time.perf_counter() - started:.2f} s")
