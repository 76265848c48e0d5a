"""Serializer fields shared by the API's request bodies."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A JSON string. DRF's CharField also takes a number (`{"note": 0}` becomes "0"); the schema says
    string, so a number is a 400 like any other wrong type."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
