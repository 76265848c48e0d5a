"""Utility assets: points (lamps, signals, chargers, hydrants), lines (power lines, pipes) and areas
(substations). `kind` is OSM-like snake_case; which kinds the public may see is in conf.py."""

from __future__ import annotations

from django.contrib.gis.db import models

from apps.core.models import SourcedFeature


class UtilityAsset(SourcedFeature):
    geom = models.GeometryField(srid=4326)
    kind = models.CharField(max_length=48, db_index=True)
    name = models.CharField(max_length=255, blank=True)
    operator = models.CharField(max_length=255, blank=True)
    osm_id = models.BigIntegerField(null=True, blank=True)
    osm_type = models.CharField(max_length=8, blank=True)

    class Meta:
        constraints = [SourcedFeature.natural_key_constraint("utilityasset_natural_key")]

    def __str__(self) -> str:
        return f"{self.kind} {self.name or self.source_id}"
