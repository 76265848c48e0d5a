from rest_framework_gis.serializers import GeoFeatureModelSerializer

from apps.buildings.models import Building


class BuildingSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = Building
        geo_field = "geom"
        fields = (
            "id",
            "name",
            "use",
            "levels",
            "height_m",
            "height_source",
            "osm_id",
            "osm_type",
            "source",
            "source_id",
        )
