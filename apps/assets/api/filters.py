from apps.assets.models import UtilityAsset
from apps.core.filters import BBoxFilterSet, CharInFilter


class UtilityAssetFilterSet(BBoxFilterSet):
    kind = CharInFilter(help_text="One or more kinds, comma-separated, e.g. street_lamp,traffic_signals.")

    class Meta:
        model = UtilityAsset
        fields = ("kind", "source")
