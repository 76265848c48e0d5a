from apps.core.filters import StrictFilterSet
from apps.jobs.models import Job


class JobFilterSet(StrictFilterSet):
    class Meta:
        model = Job
        fields = ("kind", "state")
