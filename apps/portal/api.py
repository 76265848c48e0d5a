"""The portal's public endpoints under /api/public/: open to everyone, read-only, cached (Django's cache and
Cache-Control), throttled like the rest of the API. Each answers the same to every role."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from . import conf, selectors
from .cache import cached_text, public_response

GEOJSON = "application/geo+json"


class PublicSensorsView(APIView):
    """The open traffic and air-quality sensors with their latest values (GeoJSON). Energy meters never."""

    permission_classes = [AllowAny]

    @extend_schema(responses={(200, GEOJSON): OpenApiTypes.OBJECT}, operation_id="public_sensors")
    def get(self, request: Request) -> Any:
        return public_response(
            request, selectors.public_sensors_geojson(), content_type=GEOJSON, max_age_s=conf.sensors_max_age_s()
        )


class PublishedComparisonsView(APIView):
    """The scenario comparisons planners published: titles, what changed, KPI deltas with 95 % intervals."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="public_comparisons")
    def get(self, request: Request) -> Any:
        def build() -> str:
            found = selectors.published_comparisons_views()
            return json.dumps({"results": found}, separators=(",", ":"), default=str)

        body = cached_text(selectors.published_key("list"), conf.page_max_age_s(), build)
        return public_response(request, body, content_type="application/json", max_age_s=conf.page_max_age_s())


class ComparisonDifferenceView(APIView):
    """Per road segment: both runs' flow and speed and their difference (absolute and percent), for a
    published comparison only."""

    permission_classes = [AllowAny]

    @extend_schema(responses={(200, GEOJSON): OpenApiTypes.OBJECT}, operation_id="public_comparison_difference")
    def get(self, request: Request, pk: int) -> Any:
        comparison = selectors.published_comparison(pk)
        if comparison is None:
            raise NotFound(f"no published comparison {pk}")
        body = selectors.comparison_difference_geojson(comparison)
        return public_response(request, body, content_type=GEOJSON, max_age_s=conf.page_max_age_s())


class DistrictConditionsView(APIView):
    """The districts with the dataset's latest hourly figure from the privacy module (GeoJSON; suppressed
    cells have value null). 404 while the privacy module is not installed."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "dataset", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(selectors.CONDITION_DATASETS)
            )
        ],
        responses={(200, GEOJSON): OpenApiTypes.OBJECT},
        operation_id="public_district_conditions",
    )
    def get(self, request: Request, dataset: str) -> Any:
        body = selectors.conditions_geojson(dataset)
        if body is None:
            raise NotFound("district conditions need the privacy module, which this deployment does not have")
        return public_response(request, body, content_type=GEOJSON, max_age_s=conf.page_max_age_s())
