"""Telemetry endpoints: HTTP batch ingest, quarantine and alerts for operators."""

from __future__ import annotations

from typing import Any

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
from apps.core.pagination import ListPagination
from apps.core.serializers import StrictCharField
from apps.telemetry.api.parsers import ReadingBatchParser
from apps.telemetry.models import Alert, AlertKind, QuarantinedReading
from apps.telemetry.selectors import alert_item
from apps.telemetry.services import acknowledge_alert, ingest_http_items

from .filters import AlertFilterSet, QuarantineFilterSet

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


# The next three document the ingest API (the view reads the body itself and checks each item in the quality
# gate, so that one bad item is rejected alone).
class ReadingInSerializer(serializers.Serializer):
    sensor = serializers.CharField(help_text="The sensor's code (a device may only post its own).")
    time = serializers.DateTimeField(help_text="ISO 8601 with a time zone, the device's clock.")
    seq = serializers.IntegerField(required=False, min_value=-(2**63), max_value=2**63 - 1)
    values = serializers.DictField(child=serializers.FloatField(), help_text="Property name -> value.")


class RejectedReadingSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in the posted list, from 0.")
    sensor = serializers.CharField(allow_null=True)
    reason = serializers.CharField(help_text="A quarantine reason, e.g. unknown_sensor, bad_time, out_of_range.")
    detail = serializers.CharField()


class IngestResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    stored = serializers.IntegerField()
    redelivered = serializers.IntegerField(help_text="Already stored with the same values (a retry); not an error.")
    rejected = RejectedReadingSerializer(many=True)


class IngestReadingsView(APIView):
    """POST a list of readings. Valid ones are stored (idempotent on sensor + time); the others are
    quarantined and listed in `rejected` with their index and reason. 200 even when some are rejected."""

    permission_classes = [CanIngest]
    parser_classes = [ReadingBatchParser]  # an unreadable element is quarantined, not the whole body

    @extend_schema(
        request={"application/json": ReadingInSerializer(many=True)},
        responses=IngestResultSerializer,
        description="Each item should be a ReadingIn; an item that is not is rejected alone (listed in `rejected`, "
        "quarantined), never the whole batch. The body itself must be a JSON list of at most "
        f"{MAX_BATCH} items and {MAX_BODY_BYTES // 1024 // 1024} MB.",
    )
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
    pagination_class = ListPagination
    filterset_class = QuarantineFilterSet
    queryset = QuarantinedReading.objects.order_by("-received_at")


class AcknowledgeSerializer(serializers.Serializer):
    note = StrictCharField(required=False, allow_blank=True, max_length=2000)


class AlertSerializer(serializers.Serializer):
    """alert_item() renders an alert (the API and the live stream say the same); the fields document it."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=AlertKind.choices)
    sensor = serializers.CharField(help_text="The sensor's code.")
    sensor_kind = serializers.CharField()
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    property = serializers.CharField()
    value = serializers.FloatField()
    message = serializers.CharField()
    started_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.CharField(allow_null=True, help_text="The username.")
    acknowledged_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: Alert) -> dict[str, Any]:
        return alert_item(instance)


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Threshold and anomaly alerts (operators, admins). ?open=true for the unresolved ones."""

    serializer_class = AlertSerializer
    permission_classes = [IsOperator]
    pagination_class = ListPagination
    filterset_class = AlertFilterSet
    queryset = Alert.objects.select_related("sensor", "acknowledged_by").order_by("-started_at")

    @extend_schema(request=AcknowledgeSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None, format: str | None = None) -> Response:
        # `format`: the router also routes acknowledge.json (format suffixes) and passes it.
        form = AcknowledgeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        alert = acknowledge_alert(alert=self.get_object(), user=request.user, note=form.validated_data.get("note", ""))
        return Response(alert_item(Alert.objects.select_related("sensor", "acknowledged_by").get(pk=alert.pk)))
