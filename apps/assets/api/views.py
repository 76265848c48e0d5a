from django.db.models import QuerySet

from apps.accounts.permissions import reads_as_public
from apps.assets.conf import public_asset_kinds
from apps.assets.models import UtilityAsset
from apps.assets.selectors import assets_visible_to
from apps.core.views import GeoFeatureViewSet, feature_fields

from .filters import UtilityAssetFilterSet
from .serializers import UtilityAssetSerializer


class UtilityAssetViewSet(GeoFeatureViewSet):
    """Utility assets. The public sees only the public kinds (lamps, signals, chargers, water points)."""

    queryset = UtilityAsset.objects.none()
    serializer_class = UtilityAssetSerializer
    filterset_class = UtilityAssetFilterSet
    geojson_fields = feature_fields(UtilityAssetSerializer)
    cache_pages = True

    def get_queryset(self) -> QuerySet[UtilityAsset]:
        return assets_visible_to(self.request.user)

    def page_audience(self) -> str:
        if reads_as_public(self.request.user):
            return "public:" + ",".join(sorted(public_asset_kinds()))  # the kinds are a setting
        return "staff"
