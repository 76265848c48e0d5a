"""/wfs/: django-gisserver's WFS 2.0 over the same models and collection properties as /ogc/, ordered by
id like /ogc/ and /api/; then the product's own URLs."""

from __future__ import annotations

from django.urls import include, path
from gisserver.crs import CRS, CRS84, WEB_MERCATOR, WGS84
from gisserver.features import FeatureType, ServiceDescription
from gisserver.views import WFSView

from apps.buildings.models import Building
from apps.ogc.collections import CITY_COLLECTIONS
from apps.ogc.crs import metric_srid
from apps.roads.models import RoadSegment


class BenchWFSView(WFSView):
    xml_namespace = "http://example.org/citytwin-bench"
    service_description = ServiceDescription(title="CityTwin bench peer", abstract="django-gisserver")
    feature_types = [
        FeatureType(
            model.objects.order_by("pk"),
            name=name,
            fields=["id", "geom", *CITY_COLLECTIONS[name].properties],
            crs=WGS84,
            other_crs=[CRS84, WEB_MERCATOR, CRS.from_srid(metric_srid())],
        )
        for name, model in (("buildings", Building), ("road-segments", RoadSegment))
    ]


urlpatterns = [path("wfs/", BenchWFSView.as_view()), path("", include("city.urls"))]
