from apps.buildings.models import Building
from apps.core.views import GeoFeatureViewSet, feature_fields

from .filters import BuildingFilterSet
from .serializers import BuildingSerializer


class BuildingViewSet(GeoFeatureViewSet):
    """Building footprints with heights. Public."""

    queryset = Building.objects.all()
    serializer_class = BuildingSerializer
    filterset_class = BuildingFilterSet
    geojson_fields = feature_fields(BuildingSerializer)
