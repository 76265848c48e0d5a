"""Chainable sensor filters, including what each role may see."""

from __future__ import annotations

from typing import Any

from django.contrib.gis.db.models import QuerySet


def visible_kinds(user: Any) -> frozenset[str] | None:
    """The sensor kinds this user may see; None: every kind. Visibility is by kind only, so summaries kept
    per kind (telemetry's per-district rollups) can follow the same rule as visible_to."""
    from apps.accounts.permissions import reads_as_public

    from .models import PUBLIC_SENSOR_KINDS

    return frozenset(PUBLIC_SENSOR_KINDS) if reads_as_public(user) else None


class SensorQuerySet(QuerySet):
    def visible_to(self, user: Any) -> QuerySet:
        kinds = visible_kinds(user)
        return self if kinds is None else self.filter(kind__in=kinds)
