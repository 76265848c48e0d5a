"""Telemetry endpoints: HTTP batch ingest, quarantine and alerts for operators."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Role
from apps.accounts.permissions import has_role
from apps.telemetry.api.parsers import ReadingBatchParser
from apps.telemetry.models import Alert, QuarantinedReading
from apps.telemetry.selectors import alert_item
from apps.telemetry.services import acknowledge_alert, ingest_http_items

MAX_BATCH = 5000
MAX_BODY_BYTES = 5 * 1024 * 1024


class CanIngest(BasePermission):
    message = "HTTP ingest needs an ingest, device or admin account."

    def has_permission(self, request: Request, view: Any) -> bool:
        return has_role(request.user, Role.INGEST, Role.DEVICE, Role.ADMIN)


class IsOperator(BasePermission):
    message = "Operators and admins only."

    def has_permission(self, request: Request, view: Any) -> bool:
        return has_role(request.user, Role.OPERATOR, Role.ADMIN)


class ReadingInSerializer(serializers.Serializer):
    sensor = serializers.CharField()
    time = serializers.CharField(help_text="ISO 8601 with a time zone, the device's clock.")
    seq = serializers.IntegerField(required=False)
    values = serializers.DictField(child=serializers.FloatField())


class IngestResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    stored = serializers.IntegerField()
    redelivered = serializers.IntegerField(help_text="Already stored with the same values (a retry); not an error.")
    rejected = serializers.ListField(child=serializers.DictField())


class IngestReadingsView(APIView):
    """POST a list of readings. Valid ones are stored (idempotent on sensor + time); the others are
    quarantined and listed in `rejected` with their index and reason. 200 even when some are rejected."""

    permission_classes = [CanIngest]
    parser_classes = [ReadingBatchParser]  # an unreadable element is quarantined, not the whole body

    @extend_schema(request=ReadingInSerializer(many=True), responses=IngestResultSerializer)
    def post(self, request: Request) -> Response:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > MAX_BODY_BYTES:
            return Response(
                {"code": "too_large", "detail": f"the body is {declared} bytes; the limit is {MAX_BODY_BYTES}"},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        try:
            items = request.data
        except ParseError as exc:
            return Response({"code": "malformed", "detail": str(exc.detail)}, status=status.HTTP_400_BAD_REQUEST)
        if not isinstance(items, list):
            return Response({"code": "malformed", "detail": "the body must be a JSON list of readings"}, status=400)
        if len(items) > MAX_BATCH:
            return Response(
                {"code": "too_large", "detail": f"{len(items)} readings; at most {MAX_BATCH} per request"}, status=413
            )
        result = ingest_http_items(items, user=request.user)
        rejected = []
        for r in result.rejected:
            reason, detail = r.for_sender()
            rejected.append({"index": r.index, "sensor": r.sensor_code, "reason": reason, "detail": detail})
        return Response(
            {
                "received": result.received,
                "stored": len(result.stored),
                "redelivered": result.redelivered,
                "rejected": rejected,
            }
        )


class QuarantineSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuarantinedReading
        fields = ("id", "received_at", "source", "sensor_code", "reading_time", "reason", "detail", "payload")


class QuarantineViewSet(viewsets.ReadOnlyModelViewSet):
    """What the quality gate refused, newest first (operators, admins)."""

    serializer_class = QuarantineSerializer
    permission_classes = [IsOperator]
    filterset_fields = ("reason", "sensor_code", "source")
    queryset = QuarantinedReading.objects.order_by("-received_at")


class AcknowledgeSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class AlertSerializer(serializers.Serializer):
    def to_representation(self, instance: Alert) -> dict[str, Any]:
        return alert_item(instance)


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Threshold and anomaly alerts (operators, admins). ?open=true for the unresolved ones."""

    serializer_class = AlertSerializer
    permission_classes = [IsOperator]

    def get_queryset(self) -> QuerySet[Alert]:
        queryset = Alert.objects.select_related("sensor", "acknowledged_by").order_by("-started_at")
        if self.request.query_params.get("open") in ("1", "true"):
            queryset = queryset.filter(resolved_at__isnull=True)
        return queryset

    @extend_schema(request=AcknowledgeSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        form = AcknowledgeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        alert = acknowledge_alert(alert=self.get_object(), user=request.user, note=form.validated_data.get("note", ""))
        return Response(alert_item(Alert.objects.select_related("sensor", "acknowledged_by").get(pk=alert.pk)))
