"""The portal's pages: the front page (/) and a published comparison (/published/<id>/). Read-only; what
they show is public, so anonymous answers may be cached by browsers and shared caches."""

from __future__ import annotations

import pickle
from typing import Any

from django.contrib.gis.db.models import Extent
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_safe

from apps.accounts.models import Role
from apps.accounts.permissions import role_of
from apps.assets.conf import public_asset_kinds
from apps.assets.models import UtilityAsset
from apps.buildings.models import Building
from apps.core.data_version import data_version
from apps.districts.models import District
from apps.roads.models import RoadSegment
from apps.sensors.models import Sensor

from . import conf, selectors
from .downloads import offered

FALLBACK_BOUNDS = [24.92, 60.16, 24.96, 60.175]
# The tools each role has beyond the portal (signed-in people see the same portal, plus these links).
TOOLS: dict[str, list[tuple[str, str]]] = {
    Role.PLANNER: [("/scenarios/", "Scenarios"), ("/map/", "3D map")],
    Role.OPERATOR: [("/live/", "Live map"), ("/live/quarantine/", "Quarantine"), ("/map/", "3D map")],
    Role.GIS_STAFF: [("/imports/upload/", "Upload data"), ("/admin/", "Edit data"), ("/map/", "3D map")],
    Role.ADMIN: [
        ("/scenarios/", "Scenarios"), ("/live/", "Live map"), ("/live/quarantine/", "Quarantine"),
        ("/imports/upload/", "Upload data"), ("/admin/", "Admin"),
    ],
}  # fmt: skip


# The public KPIs in words (apps.simulation.selectors.PUBLIC_KPIS), with their units.
KPI_LABELS = {
    "mean_travel_time_s": ("Mean travel time", "s"), "mean_time_loss_s": ("Mean time lost in traffic", "s"),
    "vehicle_km": ("Distance driven", "vehicle-km"), "vehicle_hours": ("Time driven", "vehicle-hours"),
    "trips_completed": ("Trips completed", ""), "co2_kg": ("CO₂", "kg"), "nox_g": ("NOx", "g"),
    "pmx_g": ("Particulate matter", "g"), "fuel_l": ("Fuel", "l"), "electricity_kwh": ("EV electricity", "kWh"),
}  # fmt: skip


def _kpi_rows(kpis: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for name, (label, unit) in KPI_LABELS.items():
        k = kpis.get(name)
        if k is None:
            continue
        pct = 100 * k["delta"] / k["against"] if k["against"] else None
        sign = "up" if k["delta"] > 0 else "down" if k["delta"] < 0 else "same"
        rows.append({"name": name, "label": label, "unit": unit, **k, "pct": pct, "sign": sign})
    return rows


def _figures() -> dict[str, Any]:
    """The front page's figures, shared by every visitor for conf.page_max_age_s() (and keyed by the city's
    data version, so an import shows at once)."""
    key = f"citytwin:portal:figures:{data_version()}"
    cached = cache.get(key)
    if cached is not None:
        return pickle.loads(cached)  # noqa: S301 - our own cache entry, written just below
    extent = Building.objects.aggregate(e=Extent("geom"))["e"]
    figures = {
        "bounds": list(extent) if extent else FALLBACK_BOUNDS,
        "counts": {
            "buildings": Building.objects.count(),
            "road_segments": RoadSegment.objects.count(),
            "assets": UtilityAsset.objects.filter(kind__in=public_asset_kinds()).count(),
            "districts": District.objects.count(),
            "sensors": Sensor.objects.filter(active=True, kind__in=selectors.public_kinds()).count(),
        },
        "comparisons": selectors.published_list(),
        "conditions": selectors.district_conditions(),
    }
    cache.set(key, pickle.dumps(figures), timeout=conf.page_max_age_s())
    return figures


def _public_cache(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if request.user.is_authenticated:
        patch_cache_control(response, private=True, max_age=0)
    else:
        patch_cache_control(response, public=True, max_age=conf.page_max_age_s())
    patch_vary_headers(response, ["Cookie"])
    return response


@require_safe
def portal_home(request: HttpRequest) -> HttpResponse:
    """The city's front page, the same for everyone; signed-in people also get links to their tools."""
    figures = _figures()
    conditions = figures["conditions"]
    config = {
        "bounds": figures["bounds"],
        "sensors_url": "/api/public/sensors/",
        "refresh_s": conf.sensors_max_age_s(),
        "catalog": selectors.sensor_catalog(),
        "conditions": None
        if conditions is None
        else [{"dataset": c.dataset, "label": c.label, "unit": c.unit} for c in conditions],
    }
    context = {
        **figures,
        "privacy_available": conditions is not None,
        "portal_config": config,
        "downloads": offered(privacy=conditions is not None),
        "licence": conf.LICENCE,
        "licence_url": conf.LICENCE_URL,
        "tools": TOOLS.get(role_of(request.user), []),
    }
    return _public_cache(request, render(request, "portal/home.html", context))


@require_safe
def published_page(request: HttpRequest, pk: int) -> HttpResponse:
    comparison = selectors.published_comparison(pk)
    if comparison is None:
        raise Http404("No published comparison with this number: it may have been withdrawn.")
    view = selectors.published_view(comparison)
    extent = Building.objects.aggregate(e=Extent("geom"))["e"]
    config = {
        "bounds": list(extent) if extent else FALLBACK_BOUNDS,
        "difference_url": f"/api/public/comparisons/{comparison.pk}/difference/",
    }
    return _public_cache(
        request,
        render(
            request, "portal/published.html", {"c": view, "kpis": _kpi_rows(view["kpis"]), "published_config": config}
        ),
    )
