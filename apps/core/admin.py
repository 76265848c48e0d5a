"""Admin helpers: a geometry widget that uses our vendored OpenLayers (no CDN, no external tiles)."""

from __future__ import annotations

from django.contrib.gis import admin
from django.contrib.gis.forms.widgets import OpenLayersWidget


class LocalOpenLayersWidget(OpenLayersWidget):
    """Django's OpenLayers widget with the library served from static/vendor/ol (CSP: 'self' only)."""

    class Media:
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/ol.js", "gis/js/OLMapWidget.js")


class FeatureAdmin(admin.GISModelAdmin):
    gis_widget = LocalOpenLayersWidget
    readonly_fields = ("source", "source_id", "import_run", "created_at", "updated_at")
    list_per_page = 50
