"""/api/scenarios/ and /api/runs/: planners and admins only (everyone else: 403; anonymous: 401/403)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.filters import BBoxField
from apps.core.pagination import ListPagination
from apps.core.schema import ERROR_REF

from ..documents import ScenarioDocument
from ..models import RunState, Scenario, ScenarioRun
from ..selectors import (
    calibration_rows,
    can_plan,
    charging_stations_geojson,
    difference_geojson,
    runs_visible_to,
    scenarios_visible_to,
    segments_geojson,
    substations_geojson,
)
from ..services import cancel_run, create_scenario, duplicate_scenario, start_run, update_scenario
from .serializers import RunSerializer, ScenarioSerializer

GEOJSON = "application/geo+json"


class IsPlanner(BasePermission):
    message = "Scenarios are for planners and admins."

    def has_permission(self, request: Request, view: Any) -> bool:
        return can_plan(request.user)


DOCUMENT_SCHEMA = ScenarioDocument


class ScenarioViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):  # fmt: skip
    """Scenarios: versioned what-if documents; a scenario with runs is immutable (saving makes a version)."""

    permission_classes = [IsPlanner]
    serializer_class = ScenarioSerializer
    pagination_class = ListPagination
    parser_classes = [JSONParser]  # the document is JSON (nested demand and edits), never a form

    def get_queryset(self) -> QuerySet[Scenario]:
        return scenarios_visible_to(self.request.user).order_by("-created_at")

    @extend_schema(request=DOCUMENT_SCHEMA, responses={201: ScenarioSerializer, 400: OpenApiResponse(ERROR_REF)})
    def create(self, request: Request, format: str | None = None) -> Response:  # noqa: A002
        """Create a scenario from its document."""
        scenario = create_scenario(document=request.data, owner=request.user)
        return Response(self._out(scenario), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=DOCUMENT_SCHEMA,
        responses={200: ScenarioSerializer, 201: ScenarioSerializer, 400: OpenApiResponse(ERROR_REF)},
    )
    def update(self, request: Request, pk: str | None = None, format: str | None = None) -> Response:  # noqa: A002
        """Replace the document: 200 when changed in place, 201 with the new version when it had runs."""
        scenario = self.get_object()
        saved, new_version = update_scenario(scenario=scenario, document=request.data, owner=request.user)
        return Response(self._out(saved), status=status.HTTP_201_CREATED if new_version else status.HTTP_200_OK)

    @extend_schema(
        request=DOCUMENT_SCHEMA,
        responses={200: ScenarioSerializer, 201: ScenarioSerializer, 400: OpenApiResponse(ERROR_REF)},
    )
    def partial_update(self, request: Request, pk: str | None = None, format: str | None = None) -> Response:  # noqa: A002
        """Change some keys of the document (the rest kept); versioning as for PUT."""
        scenario = self.get_object()
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"non_field_errors": ["a scenario document is a JSON object"]})
        document = {**scenario.document, **request.data}
        saved, new_version = update_scenario(scenario=scenario, document=document, owner=request.user)
        return Response(self._out(saved), status=status.HTTP_201_CREATED if new_version else status.HTTP_200_OK)

    @extend_schema(request=None, responses={201: ScenarioSerializer})
    @action(detail=True, methods=["post"])
    def duplicate(self, request: Request, pk: str | None = None, format: str | None = None) -> Response:  # noqa: A002
        """A copy of the scenario as a new one."""
        copy = duplicate_scenario(scenario=self.get_object(), owner=request.user)
        return Response(self._out(copy), status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["post"],
        request=None,
        responses={202: RunSerializer},
    )
    @extend_schema(methods=["get"], responses={200: RunSerializer(many=True)})
    @action(detail=True, methods=["get", "post"])
    def runs(self, request: Request, pk: str | None = None, format: str | None = None) -> Response:  # noqa: A002
        """POST: run the scenario (one simulation per seed, as jobs; 429 with code run_limit when too many of
        your runs are queued or running); GET: its runs, newest first."""
        scenario = self.get_object()
        if request.method == "POST":
            run = start_run(scenario=scenario, owner=request.user)
            return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
        runs = runs_visible_to(request.user).filter(scenario=scenario).order_by("-created_at")
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(RunSerializer(page, many=True).data)

    def _out(self, scenario: Scenario) -> dict[str, Any]:
        return dict(ScenarioSerializer(self.get_queryset().get(pk=scenario.pk)).data)


def _interval(request: Request, run: ScenarioRun) -> int | None:
    raw = request.query_params.get("interval")
    if raw in (None, ""):
        return None
    starts = {b for b, _ in RunSerializer().get_intervals(run)}
    if not raw.isdigit() or int(raw) not in starts:
        raise serializers.ValidationError(
            {"interval": [f"not an interval start of this run; use one of {sorted(starts)[:50]} (seconds of the day)"]}
        )
    return int(raw)


def _bbox(request: Request) -> tuple[float, float, float, float] | None:
    raw = request.query_params.get("bbox")
    if raw is None:
        return None
    try:
        return BBoxField().clean(raw).as_tuple()  # type: ignore[union-attr]
    except Exception as exc:  # noqa: BLE001 - a forms.ValidationError with the reason
        raise serializers.ValidationError({"bbox": [getattr(exc, "messages", [str(exc)])[0]]}) from exc


RESULT_PARAMS = [
    OpenApiParameter(
        "interval", OpenApiTypes.INT, description="An interval's begin (seconds of the day); absent: the whole window."
    ),
    OpenApiParameter("bbox", OpenApiTypes.STR, description="minlon,minlat,maxlon,maxlat"),
]


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Scenario runs: state, progress per seed, KPIs (means over seeds with 95 % intervals), results."""

    permission_classes = [IsPlanner]
    serializer_class = RunSerializer
    pagination_class = ListPagination

    def get_queryset(self) -> QuerySet[ScenarioRun]:
        return runs_visible_to(self.request.user).order_by("-created_at")

    @extend_schema(request=None, responses={200: RunSerializer, 409: OpenApiResponse(ERROR_REF)})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None, format: str | None = None) -> Response:  # noqa: A002
        """Cancel the run's queued and running seeds."""
        return Response(RunSerializer(cancel_run(run=self.get_object())).data)

    @extend_schema(parameters=RESULT_PARAMS, responses={(200, GEOJSON): OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def segments(self, request: Request, pk: str | None = None, format: str | None = None) -> HttpResponse:  # noqa: A002
        """Per-segment results (means over seeds) as GeoJSON."""
        run = self.get_object()
        body = segments_geojson(run, interval=_interval(request, run), bbox=_bbox(request))
        return HttpResponse(body, content_type=GEOJSON)

    @extend_schema(
        parameters=[*RESULT_PARAMS, OpenApiParameter("against", OpenApiTypes.INT, required=True)],
        responses={(200, GEOJSON): OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def difference(self, request: Request, pk: str | None = None, format: str | None = None) -> HttpResponse:  # noqa: A002
        """This run minus another (`against`, e.g. a run of the base): flow and speed, absolute and percent."""
        run = self.get_object()
        raw = request.query_params.get("against", "")
        other = self.get_queryset().filter(pk=int(raw)).first() if raw.isdigit() else None
        if other is None:
            raise serializers.ValidationError({"against": ["give the id of another run you can see"]})
        if other.document.get("network") != run.document.get("network"):
            raise serializers.ValidationError({"against": [f"run {other.pk} is on another network"]})
        same_intervals = (other.document.get("interval"), other.document["begin"]) == (
            run.document.get("interval"),
            run.document["begin"],
        )
        if not same_intervals and request.query_params.get("interval"):
            raise serializers.ValidationError({"against": [f"run {other.pk} has other intervals"]})
        body = difference_geojson(run, other, interval=_interval(request, run), bbox=_bbox(request))
        return HttpResponse(body, content_type=GEOJSON)

    @extend_schema(responses={(200, GEOJSON): OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def substations(self, request: Request, pk: str | None = None, format: str | None = None) -> HttpResponse:  # noqa: A002
        """The grid of an energy run: substations with peak_loading_pct, overload_hours, their service area
        and their loading time series (empty until the run has finished)."""
        return HttpResponse(substations_geojson(self.get_object()), content_type=GEOJSON)

    @extend_schema(responses={(200, GEOJSON): OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="charging-stations")
    def charging_stations(self, request: Request, pk: str | None = None, format: str | None = None) -> HttpResponse:  # noqa: A002
        """The run's charging stations with the energy each delivered (kWh, mean over seeds) per interval."""
        return HttpResponse(charging_stations_geojson(self.get_object()), content_type=GEOJSON)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def calibration(self, request: Request, pk: str | None = None, format: str | None = None) -> Response:  # noqa: A002
        """Observed vs simulated per detector and hour with GEH; share_geh_below_5 and r2 (null without counts)."""
        run = self.get_object()
        summary = run.calibration or {"share_geh_below_5": None, "r2": None, "count": 0}
        ready = run.state == RunState.SUCCEEDED
        return Response({**summary, "state": run.state, "rows": calibration_rows(run) if ready else []})
