from django.db.models import QuerySet

from apps.core.views import GeoFeatureViewSet
from apps.sensors.models import Sensor

from .filters import SensorFilterSet
from .serializers import SensorSerializer


class SensorViewSet(GeoFeatureViewSet):
    """Sensors. Traffic and air-quality sensors are open data; energy meters only for signed-in roles."""

    queryset = Sensor.objects.none()
    serializer_class = SensorSerializer
    filterset_class = SensorFilterSet
    lookup_field = "code"
    geojson_fields = (
        "code",
        "name",
        "kind",
        "road_segment",
        "building",
        "asset",
        "active",
        "installed_at",
        "source",
        "source_id",
    )

    def get_queryset(self) -> QuerySet[Sensor]:
        return Sensor.objects.visible_to(self.request.user)
