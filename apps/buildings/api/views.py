from apps.buildings.models import Building
from apps.core.views import GeoFeatureViewSet

from .filters import BuildingFilterSet
from .serializers import BuildingSerializer


class BuildingViewSet(GeoFeatureViewSet):
    """Building footprints with heights. Public."""

    queryset = Building.objects.all()
    serializer_class = BuildingSerializer
    filterset_class = BuildingFilterSet
    geojson_fields = ("name", "use", "levels", "height_m", "height_source", "osm_id", "osm_type", "source", "source_id")
