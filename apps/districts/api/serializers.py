from rest_framework_gis.serializers import GeoFeatureModelSerializer

from apps.districts.models import District


class DistrictSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = District
        geo_field = "geom"
        fields = ("id", "name", "code", "level", "admin_level", "source", "source_id")
