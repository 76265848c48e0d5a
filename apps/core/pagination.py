"""Limit/offset pagination, in the two shapes the API answers (docs/api.md):

- the map layers: a GeoJSON FeatureCollection with count, next and previous beside the features
  (rendered in PostGIS, apps/core/geojson.py);
- every other list (imports, quarantine, alerts): `{"count", "next", "previous", "results": [...]}`.

Each class documents exactly the shape it answers, so generated clients read what the server sends."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

from .filters import WHOLE_NUMBER

LINK = {"type": "string", "format": "uri", "nullable": True}
# Past PostgreSQL's bigint an OFFSET fails in the database; no page lies that far anyway.
MAX_OFFSET = 2**31 - 1


class StrictLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit/offset, but a limit or offset that is not a whole number in range is a 400 naming it
    (DRF silently uses the default instead). A limit above max_limit is capped, as documented."""

    default_limit = 1000
    max_limit = 10000

    def _whole_number(self, request: Request, name: str, *, minimum: int, maximum: int | None) -> int | None:
        raw = request.query_params.get(name)
        if raw is None:
            return None
        if not WHOLE_NUMBER.fullmatch(raw) or int(raw) < minimum or (maximum is not None and int(raw) > maximum):
            upper = f" to {maximum}" if maximum is not None else " up"
            raise ValidationError({name: [f"must be a whole number from {minimum}{upper}, not {raw[:40]!r}"]})
        return int(raw)

    def get_limit(self, request: Request) -> int:
        limit = self._whole_number(request, self.limit_query_param, minimum=1, maximum=None)
        return self.default_limit if limit is None else min(limit, self.max_limit)

    def get_offset(self, request: Request) -> int:
        return self._whole_number(request, self.offset_query_param, minimum=0, maximum=MAX_OFFSET) or 0

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        bounds = {
            self.limit_query_param: {
                "minimum": 1,
                "description": f"Items per page; default {self.default_limit}, at most {self.max_limit} "
                "(a larger limit is capped).",
            },
            self.offset_query_param: {"minimum": 0, "maximum": MAX_OFFSET, "description": "Items to skip."},
        }
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            extra = dict(bounds.get(parameter["name"], {}))
            parameter["description"] = extra.pop("description", parameter.get("description", ""))
            parameter["schema"] = {**parameter["schema"], **extra}
        return parameters


class FeaturePagination(StrictLimitOffsetPagination):
    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # `schema` is the layer's FeatureCollection (rest_framework_gis: `type` and the `features` array),
        # usually a $ref to its component: the page adds the counts and links to it.
        return {
            "allOf": [
                schema,
                {
                    "type": "object",
                    "required": ["type", "count", "numberMatched", "numberReturned", "next", "previous", "features"],
                    "properties": {
                        "count": {"type": "integer", "minimum": 0, "description": "Features matching the filters."},
                        "numberMatched": {"type": "integer", "minimum": 0, "description": "The same as count."},
                        "numberReturned": {"type": "integer", "minimum": 0, "description": "Features on this page."},
                        "next": {**LINK, "description": "The next page, null on the last one."},
                        "previous": {**LINK, "description": "The previous page, null on the first one."},
                    },
                },
            ]
        }


class ListPagination(StrictLimitOffsetPagination):
    """Lists that are not map layers. DRF's own limit/offset shape, documented as such by DRF."""
