from apps.core.views import GeoFeatureViewSet, feature_fields
from apps.districts.models import District

from .filters import DistrictFilterSet
from .serializers import DistrictSerializer


class DistrictViewSet(GeoFeatureViewSet):
    """Districts (administrative areas or grid cells). Public."""

    queryset = District.objects.all()
    serializer_class = DistrictSerializer
    filterset_class = DistrictFilterSet
    geojson_fields = feature_fields(DistrictSerializer)
    cache_pages = True
