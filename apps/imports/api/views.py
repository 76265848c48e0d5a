from django.db.models import QuerySet
from rest_framework import viewsets

from apps.accounts.permissions import IsDataEditor
from apps.core.pagination import ListPagination
from apps.imports.models import ImportRun

from .filters import ImportRunFilterSet
from .serializers import ImportRunSerializer


class ImportRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Import lineage and reports (gis_staff and admin)."""

    serializer_class = ImportRunSerializer
    permission_classes = [IsDataEditor]
    pagination_class = ListPagination
    filterset_class = ImportRunFilterSet

    def get_queryset(self) -> QuerySet[ImportRun]:
        return ImportRun.objects.select_related("created_by").order_by("-created_at")
