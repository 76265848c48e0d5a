from apps.core.filters import BBoxFilterSet
from apps.districts.models import District


class DistrictFilterSet(BBoxFilterSet):
    class Meta:
        model = District
        fields = ("level", "admin_level", "code", "source")
