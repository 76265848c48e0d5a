from rest_framework_gis.serializers import GeoFeatureModelSerializer

from apps.sensors.models import Sensor


class SensorSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = Sensor
        geo_field = "geom"
        fields = (
            "id",
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
