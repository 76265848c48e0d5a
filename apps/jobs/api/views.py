"""Jobs over the API: a person's own jobs (admins: all), their progress and log, and cancelling them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import STAFF_ROLES
from apps.accounts.permissions import role_of
from apps.core.pagination import ListPagination
from apps.core.schema import ERROR_REF
from apps.jobs.models import Job
from apps.jobs.selectors import jobs_visible_to
from apps.jobs.services import request_cancel

from .filters import JobFilterSet
from .serializers import JobDetailSerializer, JobSerializer


class IsPerson(BasePermission):
    message = "Jobs belong to signed-in people (planner, operator, gis_staff, admin)."

    def has_permission(self, request: Request, view: Any) -> bool:
        return role_of(request.user) in STAFF_ROLES


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your jobs (imports, scenario runs): state, progress, error; admins see everyone's."""

    permission_classes = [IsPerson]
    filterset_class = JobFilterSet
    pagination_class = ListPagination

    def get_queryset(self) -> QuerySet[Job]:
        return jobs_visible_to(self.request.user)

    def get_serializer_class(self) -> type[JobSerializer]:
        return JobDetailSerializer if self.action != "list" else JobSerializer

    @extend_schema(
        request=None,
        responses={
            200: JobDetailSerializer,
            409: OpenApiResponse(ERROR_REF, description="The job has already finished (code not_cancellable)."),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None, format: str | None = None) -> Response:  # noqa: A002
        """Cancel a queued job at once, or ask a running one to stop at its next progress report (409 when
        it has already finished)."""
        job = self.get_object()  # 404 for a job that is not yours
        job = request_cancel(job_id=job.pk)
        return Response(JobDetailSerializer(job).data)
