from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from apps.buildings.cityjson import MEDIA_TYPE, cityjson_text
from apps.buildings.models import Building
from apps.core.views import GeoFeatureViewSet, feature_fields

from .filters import BuildingFilterSet
from .serializers import BuildingSerializer


class CityJSONRenderer(BaseRenderer):
    """application/city+json; errors (a dict) are rendered as plain JSON."""

    media_type = MEDIA_TYPE
    format = "cityjson"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, str):
            return data.encode()
        return JSONRenderer().render(data)


class BuildingViewSet(GeoFeatureViewSet):
    """Building footprints with heights. Public."""

    queryset = Building.objects.all()
    serializer_class = BuildingSerializer
    filterset_class = BuildingFilterSet
    geojson_fields = feature_fields(BuildingSerializer)
    cache_pages = True

    @extend_schema(
        filters=True,
        responses={
            (200, MEDIA_TYPE): OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="A CityJSON 2.0 document: every building that the filters select (no paging), LoD1, "
                "in the city's metric CRS with integer vertices (transform scale 0.001).",
            ),
        },
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="cityjson",
        renderer_classes=[CityJSONRenderer, JSONRenderer],
        pagination_class=None,
    )
    def cityjson(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        """The buildings as CityJSON 2.0, LoD1 (footprints extruded to their heights), with the same filters
        as the list (bbox, use, heights, source)."""
        text = cityjson_text(self.filter_queryset(self.get_queryset()))
        response = HttpResponse(text, content_type=MEDIA_TYPE)
        response["Content-Disposition"] = 'attachment; filename="buildings.city.json"'
        return response
