"""The browser pages. Data reaches them through the API and the tiles, which check roles themselves."""

from __future__ import annotations

from django.contrib.gis.db.models import Extent
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.assets.selectors import assets_visible_to
from apps.buildings.models import Building
from apps.districts.models import District
from apps.roads.models import RoadSegment

# Central Helsinki: where the map opens when nothing is loaded yet.
FALLBACK_BOUNDS = [24.92, 60.16, 24.96, 60.175]


def home(request: HttpRequest) -> HttpResponse:
    counts = {
        "buildings": Building.objects.count(),
        "road_segments": RoadSegment.objects.count(),
        "assets": assets_visible_to(request.user).count(),
        "districts": District.objects.count(),
    }
    return render(request, "maps/home.html", {"counts": counts})


def city_map(request: HttpRequest) -> HttpResponse:
    extent = Building.objects.aggregate(e=Extent("geom"))["e"]
    bounds = list(extent) if extent else FALLBACK_BOUNDS
    return render(request, "maps/map.html", {"map_config": {"bounds": bounds}})
