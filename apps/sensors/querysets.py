"""Chainable sensor filters, including what each role may see."""

from __future__ import annotations

from typing import Any

from django.contrib.gis.db.models import QuerySet


class SensorQuerySet(QuerySet):
    def visible_to(self, user: Any) -> QuerySet:
        from apps.accounts.permissions import reads_as_public

        from .models import PUBLIC_SENSOR_KINDS

        if reads_as_public(user):
            return self.filter(kind__in=PUBLIC_SENSOR_KINDS)
        return self
