"""python manage.py export_city --format cityjson [-o FILE] [--bbox MINLON,MINLAT,MAXLON,MAXLAT] [--crs EPSG] [--source S]

Writes the city's buildings as CityJSON 2.0, LoD1 (apps/buildings/cityjson.py), to FILE or standard
output. The counterpart of `load_city`, which reads the file back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.buildings.cityjson import ExportCRSError, check_export_srid, cityjson_chunks, metric_srid, select_buildings
from apps.core.geo import BBox, BBoxError

FORMATS = ("cityjson",)


class Command(BaseCommand):
    help = "Export the city's buildings as CityJSON 2.0 (LoD1: footprints extruded to their heights)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=FORMATS, default="cityjson", help="Only cityjson, for now.")
        parser.add_argument("-o", "--output", default="-", help="The file to write (default: standard output).")
        parser.add_argument("--bbox", help="Only buildings intersecting minlon,minlat,maxlon,maxlat (WGS 84).")
        parser.add_argument("--crs", type=int, help="EPSG code of a projected CRS in metres (default: the city's).")
        parser.add_argument("--source", help="Only this source's buildings (e.g. osm).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            bbox = BBox.parse(options["bbox"]) if options["bbox"] else None
        except BBoxError as exc:
            raise CommandError(f"--bbox: {exc}") from exc
        try:
            srid = check_export_srid(options["crs"] if options["crs"] is not None else metric_srid())
        except ExportCRSError as exc:
            raise CommandError(f"--crs: {exc}") from exc
        buildings = select_buildings(bbox=bbox, source=options["source"])
        chunks = cityjson_chunks(buildings, srid=srid)
        if options["output"] == "-":
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            return
        count = buildings.count()
        with open(Path(options["output"]), "w", encoding="utf-8") as out:
            out.writelines(chunks)
        self.stderr.write(f"Wrote {count} buildings to {options['output']} (EPSG:{srid}).")
