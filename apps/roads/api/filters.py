import django_filters

from apps.core.filters import BBoxFilterSet
from apps.roads.models import RoadNode, RoadSegment


class RoadSegmentFilterSet(BBoxFilterSet):
    highway = django_filters.BaseInFilter(help_text="One or more OSM highway classes, comma-separated.")
    name = django_filters.CharFilter(lookup_expr="icontains")
    min_lanes = django_filters.NumberFilter(field_name="lanes", lookup_expr="gte")

    class Meta:
        model = RoadSegment
        fields = ("highway", "oneway", "osm_way_id", "from_node", "to_node", "source")


class RoadNodeFilterSet(BBoxFilterSet):
    class Meta:
        model = RoadNode
        fields = ("traffic_signals", "osm_id", "source")
