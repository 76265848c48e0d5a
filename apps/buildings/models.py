"""Building footprints. Height comes from the source's `height`, else (3D sources: CityJSON) the geometry's
vertical extent, else `building:levels` x LEVEL_HEIGHT_M, else DEFAULT_HEIGHT_M; `height_source` records
which, so a planner can tell measured from guessed."""

from __future__ import annotations

from django.contrib.gis.db import models

from apps.core.models import SourcedFeature

LEVEL_HEIGHT_M = 3.0
DEFAULT_HEIGHT_M = 9.0  # three storeys: the median of the tagged buildings in central Helsinki is higher


class HeightSource(models.TextChoices):
    TAG = "height", "Tagged height"
    LEVELS = "levels", "Levels x 3 m"
    DEFAULT = "default", "Default"
    GEOMETRY = "geometry", "3D geometry (highest minus lowest vertex)"


class Building(SourcedFeature):
    geom = models.MultiPolygonField(srid=4326)
    name = models.CharField(max_length=255, blank=True)
    use = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="OSM building=* value, e.g. 'residential'."
    )
    levels = models.PositiveSmallIntegerField(null=True, blank=True)
    height_m = models.FloatField(help_text="Height above ground in metres.")
    height_source = models.CharField(max_length=8, choices=HeightSource.choices, default=HeightSource.DEFAULT)
    osm_id = models.BigIntegerField(null=True, blank=True)
    osm_type = models.CharField(max_length=8, blank=True)

    class Meta:
        constraints = [SourcedFeature.natural_key_constraint("building_natural_key")]

    def __str__(self) -> str:
        return self.name or f"{self.use or 'building'} {self.source_id}"
