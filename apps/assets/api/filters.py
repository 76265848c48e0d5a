import django_filters

from apps.assets.models import UtilityAsset
from apps.core.filters import BBoxFilterSet


class UtilityAssetFilterSet(BBoxFilterSet):
    kind = django_filters.BaseInFilter(
        help_text="One or more kinds, comma-separated, e.g. street_lamp,traffic_signals."
    )

    class Meta:
        model = UtilityAsset
        fields = ("kind", "source")
