"""Districts: the source's administrative areas, or, where a source has none (the central Helsinki
extract has no complete admin boundary), a grid of square cells laid over the city (see docs/data.md)."""

from __future__ import annotations

from django.contrib.gis.db import models

from apps.core.models import SourcedFeature


class DistrictLevel(models.TextChoices):
    ADMIN = "admin", "Administrative boundary"
    GRID = "grid", "Grid cell"


class District(SourcedFeature):
    geom = models.MultiPolygonField(srid=4326)
    name = models.CharField(max_length=255)
    code = models.CharField(max_length=64, blank=True)
    level = models.CharField(max_length=8, choices=DistrictLevel.choices, default=DistrictLevel.ADMIN)
    admin_level = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [SourcedFeature.natural_key_constraint("district_natural_key")]

    def __str__(self) -> str:
        return self.name
