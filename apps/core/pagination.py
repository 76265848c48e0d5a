"""Limit/offset pagination for GeoJSON FeatureCollections (count, next, previous beside the features)."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import LimitOffsetPagination


class FeaturePagination(LimitOffsetPagination):
    default_limit = 1000
    max_limit = 10000

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        url = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["type", "count", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "count": {"type": "integer", "description": "Features matching the filters, all pages."},
                "numberMatched": {"type": "integer"},
                "numberReturned": {"type": "integer"},
                "next": url,
                "previous": url,
                "features": schema.get("properties", {}).get("features", schema),
            },
        }
