"""Base viewset for the city's layers: filtered lists rendered as GeoJSON inside PostGIS, details through
the GeoJSON serializer."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpResponse
from rest_framework import viewsets
from rest_framework.request import Request

from .geojson import render_feature_collection
from .pagination import FeaturePagination

GEOJSON = "application/geo+json"


class GeoFeatureViewSet(viewsets.ReadOnlyModelViewSet):
    """A read-only layer. Subclasses set queryset, serializer_class, filterset_class and geojson_fields."""

    geojson_fields: ClassVar[tuple[str, ...]] = ()
    pagination_class = FeaturePagination

    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        queryset = self.filter_queryset(self.get_queryset()).order_by("pk")
        paginator: FeaturePagination = self.paginator  # type: ignore[assignment]
        limit = paginator.get_limit(request) or paginator.default_limit
        offset = paginator.get_offset(request)
        count = queryset.count()
        paginator.limit, paginator.offset, paginator.count, paginator.request = limit, offset, count, request
        body = render_feature_collection(
            queryset[offset : offset + limit],
            fields=self.geojson_fields,
            count=count,
            next_url=paginator.get_next_link(),
            previous_url=paginator.get_previous_link(),
        )
        return HttpResponse(body, content_type=GEOJSON)
