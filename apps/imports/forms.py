from __future__ import annotations

from django import forms

from .targets import USER_KINDS


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text="OSM (.osm.pbf, .osm), GeoJSON, CityJSON (.city.json, .city.jsonl), GeoPackage, zipped Shapefile or CSV "
        "(WKT or lon/lat columns)."
    )
    kind = forms.ChoiceField(
        choices=[("", "Guess from layer names"), *[(k, k.capitalize()) for k in USER_KINDS]], required=False
    )
    layer = forms.CharField(required=False, help_text="Only this layer of a multi-layer file.")
    srid = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=999999,
        label="SRID",
        help_text="EPSG code, for files without a CRS (e.g. 3067 for ETRS-TM35FIN).",
    )
    dry_run = forms.BooleanField(required=False, initial=True, label="Dry run (check and report, write nothing)")
    replace = forms.BooleanField(required=False, label="Replace (delete this source's features missing from the file)")
