"""Reads of utility assets, always through the role filter."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.accounts.permissions import reads_as_public

from .conf import public_asset_kinds
from .models import UtilityAsset


def assets_visible_to(user: Any) -> QuerySet[UtilityAsset]:
    """The public sees only the kinds marked public; any signed-in role sees all."""
    queryset = UtilityAsset.objects.all()
    if reads_as_public(user):
        queryset = queryset.filter(kind__in=public_asset_kinds())
    return queryset
