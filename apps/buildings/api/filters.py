import django_filters

from apps.buildings.models import Building
from apps.core.filters import BBoxFilterSet, FloatFilter


class BuildingFilterSet(BBoxFilterSet):
    use = django_filters.CharFilter(help_text="OSM building=* value, e.g. 'residential'.")
    min_height = FloatFilter(field_name="height_m", lookup_expr="gte")
    max_height = FloatFilter(field_name="height_m", lookup_expr="lte")
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Building
        fields = ("use", "height_source", "source")
