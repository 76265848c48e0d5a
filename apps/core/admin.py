"""Admin helpers: a geometry widget that works under our CSP (no inline script), with OpenLayers served
from static/vendor/ol and the city's own vector tiles as the base map (no CDN, no remote tiles)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.gis import admin
from django.contrib.gis.forms.widgets import OpenLayersWidget

from apps.core.data_version import city_data_changed
from apps.core.geo import WEB_MERCATOR_SRID

# Where the widget opens for a new (empty) feature: central Helsinki (lon, lat).
DEFAULT_CENTER = (24.944, 60.170)


class CityOpenLayersWidget(OpenLayersWidget):
    template_name = "gis/citytwin_openlayers.html"

    class Media:
        extend = False  # drop Django's CDN links
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/ol.js", "gis/js/OLMapWidget.js", "js/admin-map.js")

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget_config_id"] = f"{context['id']}_config"
        context["widget_config"] = {
            "geom_name": context["geom_type"],
            "id": context["id"],
            "map_id": f"{context['id']}_map",
            "map_srid": WEB_MERCATOR_SRID,
            "name": context["name"],
            "module": context["module"],
            "default_lon": DEFAULT_CENTER[0],
            "default_lat": DEFAULT_CENTER[1],
            "default_zoom": 15,
        }
        return context


class FeatureForm(forms.ModelForm):
    """Refuses invalid geometry (GEOS accepts it silently) with the reason PostGIS would give."""

    def clean_geom(self) -> Any:
        geom = self.cleaned_data.get("geom")
        if geom is not None and not geom.valid:
            raise forms.ValidationError(f"Invalid geometry: {geom.valid_reason}. Fix it before saving.")
        return geom


class FeatureAdmin(admin.GISModelAdmin):
    form = FeatureForm
    gis_widget = CityOpenLayersWidget  # type: ignore[assignment]  # django-stubs pins OSMWidget
    readonly_fields = ("source", "source_id", "import_run", "created_at", "updated_at")
    list_per_page = 50

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        city_data_changed()

    def delete_model(self, request: Any, obj: Any) -> None:
        super().delete_model(request, obj)
        city_data_changed()
