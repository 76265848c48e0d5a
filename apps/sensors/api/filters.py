from apps.core.filters import BBoxFilterSet, CharInFilter
from apps.sensors.models import Sensor


class SensorFilterSet(BBoxFilterSet):
    kind = CharInFilter(help_text="One or more of traffic, air_quality, energy.")

    class Meta:
        model = Sensor
        fields = ("kind", "active", "code", "road_segment", "building", "asset")
