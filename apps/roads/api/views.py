from apps.core.views import GeoFeatureViewSet
from apps.roads.models import RoadNode, RoadSegment

from .filters import RoadNodeFilterSet, RoadSegmentFilterSet
from .serializers import RoadNodeSerializer, RoadSegmentSerializer


class RoadSegmentViewSet(GeoFeatureViewSet):
    """Directed road segments between junctions. Public."""

    queryset = RoadSegment.objects.all()
    serializer_class = RoadSegmentSerializer
    filterset_class = RoadSegmentFilterSet
    geojson_fields = (
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


class RoadNodeViewSet(GeoFeatureViewSet):
    """Road network junctions and dead ends. Public."""

    queryset = RoadNode.objects.all()
    serializer_class = RoadNodeSerializer
    filterset_class = RoadNodeFilterSet
    geojson_fields = ("osm_id", "traffic_signals", "source", "source_id")
