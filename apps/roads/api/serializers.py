from rest_framework_gis.serializers import GeoFeatureModelSerializer

from apps.roads.models import RoadNode, RoadSegment


class RoadSegmentSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = RoadSegment
        geo_field = "geom"
        fields = (
            "id",
            "from_node",
            "to_node",
            "highway",
            "name",
            "lanes",
            "maxspeed_kmh",
            "oneway",
            "length_m",
            "osm_way_id",
            "source",
            "source_id",
        )


class RoadNodeSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = RoadNode
        geo_field = "geom"
        fields = ("id", "osm_id", "traffic_signals", "source", "source_id")
