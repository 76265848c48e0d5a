"""Sensors in the city. The readings arrive in the telemetry app; here is what a sensor is, where it is
and what it is attached to. Energy meters measure a household or business: personal data, never public
per meter (see querysets.py)."""

from __future__ import annotations

from django.contrib.gis.db import models

from apps.core.models import SourcedFeature

from .querysets import SensorQuerySet


class SensorKind(models.TextChoices):
    TRAFFIC = "traffic", "Traffic"
    AIR_QUALITY = "air_quality", "Air quality"
    ENERGY = "energy", "Energy"


PUBLIC_SENSOR_KINDS = frozenset({SensorKind.TRAFFIC, SensorKind.AIR_QUALITY})


class Sensor(SourcedFeature):
    code = models.SlugField(max_length=64, unique=True, help_text="The device's id, used in MQTT topics.")
    name = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=16, choices=SensorKind.choices, db_index=True)
    geom = models.PointField(srid=4326)
    road_segment = models.ForeignKey(
        "roads.RoadSegment", null=True, blank=True, on_delete=models.SET_NULL, related_name="sensors"
    )
    building = models.ForeignKey(
        "buildings.Building", null=True, blank=True, on_delete=models.SET_NULL, related_name="sensors"
    )
    asset = models.ForeignKey(
        "assets.UtilityAsset", null=True, blank=True, on_delete=models.SET_NULL, related_name="sensors"
    )
    active = models.BooleanField(default=True)
    installed_at = models.DateTimeField(null=True, blank=True)

    objects = SensorQuerySet.as_manager()

    class Meta:
        constraints = [SourcedFeature.natural_key_constraint("sensor_natural_key")]

    def __str__(self) -> str:
        return self.code
