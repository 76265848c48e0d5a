from django.db.models import QuerySet

from apps.core.filters import BooleanFilter, StrictFilterSet
from apps.telemetry.models import Alert, QuarantinedReading


class QuarantineFilterSet(StrictFilterSet):
    class Meta:
        model = QuarantinedReading
        fields = ("reason", "sensor_code", "source")


class AlertFilterSet(StrictFilterSet):
    open = BooleanFilter(method="filter_open", help_text="true: only the unresolved alerts; false or left out: all.")

    class Meta:
        model = Alert
        fields = ("open",)

    def filter_open(self, queryset: QuerySet[Alert], name: str, value: bool) -> QuerySet[Alert]:
        return queryset.filter(resolved_at__isnull=True) if value else queryset
