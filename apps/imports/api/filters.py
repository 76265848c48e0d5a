from apps.core.filters import StrictFilterSet
from apps.imports.models import ImportRun


class ImportRunFilterSet(StrictFilterSet):
    class Meta:
        model = ImportRun
        fields = ("state", "dry_run")
