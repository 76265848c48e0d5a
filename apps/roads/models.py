"""The road network as a directed graph. A node is a junction or a dead end; a segment runs from one node
to the next along one OSM way, in one direction of travel (a two-way street is two segments)."""

from __future__ import annotations

from django.contrib.gis.db import models

from apps.core.models import SourcedFeature


class RoadNode(SourcedFeature):
    geom = models.PointField(srid=4326)
    osm_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    traffic_signals = models.BooleanField(default=False)

    class Meta:
        constraints = [SourcedFeature.natural_key_constraint("roadnode_natural_key")]

    def __str__(self) -> str:
        return f"node {self.source_id}"


class RoadSegment(SourcedFeature):
    geom = models.LineStringField(srid=4326)
    from_node = models.ForeignKey(RoadNode, on_delete=models.CASCADE, related_name="outgoing", null=True, blank=True)
    to_node = models.ForeignKey(RoadNode, on_delete=models.CASCADE, related_name="incoming", null=True, blank=True)
    highway = models.CharField(max_length=32, db_index=True, help_text="OSM highway class, e.g. 'primary'.")
    name = models.CharField(max_length=255, blank=True)
    lanes = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Lanes in this direction.")
    maxspeed_kmh = models.FloatField(null=True, blank=True)
    oneway = models.BooleanField(default=False, help_text="The street is one-way (this is its only direction).")
    length_m = models.FloatField(default=0)
    osm_way_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    class Meta:
        constraints = [SourcedFeature.natural_key_constraint("roadsegment_natural_key")]

    def __str__(self) -> str:
        return f"{self.name or self.highway} {self.source_id}"
