from __future__ import annotations

from django.db.models import QuerySet

from apps.core.views import GeoFeatureViewSet, feature_fields
from apps.sensors.models import Sensor

from .filters import SensorFilterSet
from .serializers import SensorSerializer


class SensorViewSet(GeoFeatureViewSet):
    """Sensors. Traffic and air-quality sensors and their readings are open data; energy meters are
    personal data, visible only to signed-in staff (the public sees them aggregated, in dashboards)."""

    queryset = Sensor.objects.none()
    serializer_class = SensorSerializer
    filterset_class = SensorFilterSet
    lookup_field = "code"
    geojson_fields = feature_fields(SensorSerializer)

    def get_queryset(self) -> QuerySet[Sensor]:
        return Sensor.objects.visible_to(self.request.user)
