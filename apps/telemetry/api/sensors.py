"""A sensor's readings over the API: /api/sensors/{code}/latest/ and /api/sensors/{code}/readings/.

They live with telemetry (the sensors app knows nothing of readings) and are routed under the sensors'
prefix beside SensorViewSet, with the same lookup and the same role filter on which sensors one may see."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.params import query_time
from apps.sensors.models import Sensor
from apps.telemetry.selectors import latest_of, series

from .serializers import SensorLatestSerializer, SensorSeriesSerializer

# The router also routes `latest.json` etc. (format suffixes): every handler takes the `format` keyword.
# These answers are not GeoJSON, so `.geojson` is not offered for them (404, as for any unknown suffix).
NOT_GEOJSON = [JSONRenderer, BrowsableAPIRenderer]
RESOLUTIONS = ("raw", "1m", "15m", "1h")
# The longest window per resolution (keeps a response to at most a few thousand points per property).
MAX_WINDOW = {"raw": timedelta(days=1), "1m": timedelta(days=3), "15m": timedelta(days=31), "1h": timedelta(days=366)}


class SensorReadingsViewSet(viewsets.GenericViewSet):
    """Readings of one sensor. Traffic and air-quality sensors are open data; energy meters are personal data,
    visible only to signed-in staff (the public sees them aggregated, in dashboards)."""

    queryset = Sensor.objects.none()
    lookup_field = "code"
    renderer_classes = NOT_GEOJSON

    def get_queryset(self) -> QuerySet[Sensor]:
        return Sensor.objects.visible_to(self.request.user)

    @extend_schema(responses=SensorLatestSerializer)
    @action(detail=True, methods=["get"], renderer_classes=NOT_GEOJSON)
    def latest(self, request: Request, code: str | None = None, format: str | None = None) -> Response:
        """The latest value of each property, with its time and when it arrived."""
        return Response(latest_of(self.get_object()))

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME, description="Default: end - 1 hour. Before end."),
            OpenApiParameter("end", OpenApiTypes.DATETIME, description="Default: now."),
            OpenApiParameter(
                "resolution",
                OpenApiTypes.STR,
                enum=RESOLUTIONS,
                description="Default: 1m. The window (end - start) is at most "
                + ", ".join(f"{window.days} days at {name}" for name, window in MAX_WINDOW.items())
                + "; a longer one is a 400.",
            ),
        ],
        responses=SensorSeriesSerializer,
    )
    @action(detail=True, methods=["get"], renderer_classes=NOT_GEOJSON)
    def readings(self, request: Request, code: str | None = None, format: str | None = None) -> Response:
        """Readings between start and end, raw or aggregated (counts and energy summed, the rest averaged)."""
        sensor = self.get_object()
        resolution = request.query_params.get("resolution", "1m")
        if resolution not in RESOLUTIONS:
            raise ValidationError({"resolution": f"one of {', '.join(RESOLUTIONS)}"})
        end = query_time(request, "end", timezone.now())
        try:
            start = query_time(request, "start", end - timedelta(hours=1))
        except OverflowError as exc:  # the default start, an hour before an end in year 1
            raise ValidationError({"end": "out of range"}) from exc
        if start >= end:
            raise ValidationError({"start": "must be before end"})
        if end - start > MAX_WINDOW[resolution]:
            raise ValidationError(
                {"start": f"at most {MAX_WINDOW[resolution]} at resolution {resolution}; use a coarser one"}
            )
        return Response(series(sensor, start=start, end=end, resolution=resolution))
