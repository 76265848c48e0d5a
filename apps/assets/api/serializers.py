from rest_framework_gis.serializers import GeoFeatureModelSerializer

from apps.assets.models import UtilityAsset


class UtilityAssetSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = UtilityAsset
        geo_field = "geom"
        fields = ("id", "kind", "name", "operator", "osm_id", "osm_type", "source", "source_id")
