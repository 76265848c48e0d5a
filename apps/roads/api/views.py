from apps.core.views import GeoFeatureViewSet, feature_fields
from apps.roads.models import RoadNode, RoadSegment

from .filters import RoadNodeFilterSet, RoadSegmentFilterSet
from .serializers import RoadNodeSerializer, RoadSegmentSerializer


class RoadSegmentViewSet(GeoFeatureViewSet):
    """Directed road segments between junctions. Public."""

    queryset = RoadSegment.objects.all()
    serializer_class = RoadSegmentSerializer
    filterset_class = RoadSegmentFilterSet
    geojson_fields = feature_fields(RoadSegmentSerializer)
    cache_pages = True


class RoadNodeViewSet(GeoFeatureViewSet):
    """Road network junctions and dead ends. Public."""

    queryset = RoadNode.objects.all()
    serializer_class = RoadNodeSerializer
    filterset_class = RoadNodeFilterSet
    geojson_fields = feature_fields(RoadNodeSerializer)
    cache_pages = True
