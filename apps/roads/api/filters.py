import django_filters

from apps.core.filters import BBoxFilterSet, CharInFilter, IntegerFilter
from apps.roads.models import RoadNode, RoadSegment


class RoadSegmentFilterSet(BBoxFilterSet):
    highway = CharInFilter(help_text="One or more OSM highway classes, comma-separated.")
    name = django_filters.CharFilter(lookup_expr="icontains")
    min_lanes = IntegerFilter(field_name="lanes", lookup_expr="gte")

    class Meta:
        model = RoadSegment
        fields = ("highway", "oneway", "osm_way_id", "from_node", "to_node", "source")


class RoadNodeFilterSet(BBoxFilterSet):
    class Meta:
        model = RoadNode
        fields = ("traffic_signals", "osm_id", "source")
