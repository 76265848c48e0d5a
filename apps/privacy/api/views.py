"""The public aggregates over the API: /api/public/aggregates/ (JSON or CSV) and /api/public/partitions/{p}/
(GeoJSON). Open to everyone (anonymous throttle as the rest of the API); all the work is the privacy
module's selectors, which also cache."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.params import query_time
from apps.privacy import conf
from apps.privacy.selectors import DATASETS, MEASURES, PARTITIONS, PublicRelease, partition_cells, public_aggregates

FIELDS = ("cell", "cell_name", "bucket", "value", "unit", "n_sources", "suppressed")


class CSVRenderer(BaseRenderer):
    """A release as CSV: the licence and attribution as comment lines, then one row per cell-hour. An error
    body becomes a one-row CSV of code and detail."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if isinstance(data, dict) and "results" in data:
            out.write(f"# {data['dataset']} {data['measure']} by {data['partition']}, hourly; k = {data['k']}")
            out.write(f"; epsilon = {data['epsilon']}\n" if data["epsilon"] is not None else "\n")
            out.write(f"# Licence: {data['licence']}. Attribution: {data['attribution']}\n")
            writer.writerow(FIELDS)
            for row in data["results"]:
                writer.writerow([row.get(name, "") if row.get(name) is not None else "" for name in FIELDS])
        elif isinstance(data, dict):
            writer.writerow(["code", "detail"])
            writer.writerow([data.get("code", ""), data.get("detail", "")])
        return out.getvalue().encode()


def release_body(release: PublicRelease) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    for row in release.rows:
        item: dict[str, Any] = {"cell": row.cell, "cell_name": row.cell_name, "bucket": row.bucket.isoformat()}
        if row.suppressed:
            item["suppressed"] = True
        else:
            item |= {"value": row.value, "unit": row.unit, "n_sources": row.n_sources}
        results.append(item)
    return {
        "dataset": release.dataset,
        "partition": release.partition,
        "measure": release.measure,
        "k": release.k,
        "licence": release.licence,
        "attribution": release.attribution,
        "epsilon": release.epsilon,
        "results": results,
    }


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return False
    if raw.lower() not in ("true", "false", "1", "0"):
        raise ValidationError({name: f"true or false, not {raw[:20]!r}"})
    return raw.lower() in ("true", "1")


_ROW = inline_serializer(
    "PublicAggregateRow",
    {
        "cell": serializers.CharField(help_text="District id, or H3 cell index."),
        "cell_name": serializers.CharField(),
        "bucket": serializers.DateTimeField(help_text="Start of the hour (UTC)."),
        "value": serializers.FloatField(required=False),
        "unit": serializers.CharField(required=False),
        "n_sources": serializers.IntegerField(required=False, help_text="Distinct sources; never below k."),
        "suppressed": serializers.BooleanField(required=False, help_text="Present (true) when withheld."),
    },
    many=True,
)
_RELEASE = inline_serializer(
    "PublicAggregates",
    {
        "dataset": serializers.ChoiceField(choices=DATASETS),
        "partition": serializers.ChoiceField(choices=PARTITIONS),
        "measure": serializers.CharField(),
        "k": serializers.IntegerField(help_text="The k-threshold applied (1: open data, no threshold)."),
        "licence": serializers.CharField(),
        "attribution": serializers.CharField(),
        "epsilon": serializers.FloatField(allow_null=True, help_text="Epsilon spent (DP), else null."),
        "results": _ROW,
    },
)


class PublicAggregatesView(APIView):
    """Hourly aggregates of sensor data per district or H3 cell, through the privacy module (docs/privacy.md).
    Energy is personal data: a cell-hour with fewer than k meters, or one that differencing could isolate,
    is returned as `suppressed: true`. `?format=csv` (or `.csv`) downloads the same as CSV."""

    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("dataset", OpenApiTypes.STR, enum=DATASETS, required=True),
            OpenApiParameter("partition", OpenApiTypes.STR, enum=PARTITIONS, description="Default: district."),
            OpenApiParameter(
                "measure",
                OpenApiTypes.STR,
                enum=sorted({m for ms in MEASURES.values() for m in ms}),
                description="Default: the dataset's first: "
                + "; ".join(f"{d}: {', '.join(ms)}" for d, ms in MEASURES.items()),
            ),
            OpenApiParameter(
                "start", OpenApiTypes.DATETIME, description="Default: end - 24 hours. Snapped down to the hour."
            ),
            OpenApiParameter(
                "end",
                OpenApiTypes.DATETIME,
                description="Default: now. Snapped up to the hour; hours not yet settled are left out.",
            ),
            OpenApiParameter(
                "dp", OpenApiTypes.BOOL, description="Laplace noise on sums; spends the dataset's budget."
            ),
        ],
        responses={
            (200, "application/json"): _RELEASE,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The same rows as CSV."),
        },
    )
    def get(self, request: Request, format: str | None = None) -> Response:
        params = request.query_params
        dataset = params.get("dataset", "")
        if not dataset:
            raise ValidationError({"dataset": f"required: one of {', '.join(DATASETS)}"})
        end = query_time(request, "end", timezone.now())
        start = query_time(request, "start", end - timedelta(hours=24))
        release = public_aggregates(
            dataset=dataset,
            partition=params.get("partition") or "district",
            start=start,
            end=end,
            measure=params.get("measure") or None,
            dp=_flag(request, "dp"),
        )
        response = Response(release_body(release))
        if getattr(request, "accepted_renderer", None) and request.accepted_renderer.format == "csv":
            response["Content-Disposition"] = f'attachment; filename="{release.dataset}-{release.partition}.csv"'
        return response


class GeoJSONTextRenderer(BaseRenderer):
    media_type = "application/geo+json"
    format = "geojson"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, str):
            return data.encode()
        return JSONRenderer().render(data)


class PublicPartitionView(APIView):
    """The cells of a public partition as a GeoJSON FeatureCollection (properties: cell, name)."""

    permission_classes = [AllowAny]
    renderer_classes = [GeoJSONTextRenderer, JSONRenderer]

    @extend_schema(
        parameters=[OpenApiParameter("partition", OpenApiTypes.STR, OpenApiParameter.PATH, enum=PARTITIONS)],
        responses={(200, "application/geo+json"): OpenApiTypes.OBJECT, (200, "application/json"): OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, partition: str, format: str | None = None) -> HttpResponse:
        if partition not in PARTITIONS:
            raise NotFound(f"no public partition {partition[:40]!r}; the partitions are {', '.join(PARTITIONS)}")
        text = partition_cells(partition)
        response = HttpResponse(text, content_type="application/geo+json")
        response["Cache-Control"] = f"public, max-age={conf.cache_seconds()}"
        return response
