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


class RoadNetwork(models.Model):
    """A road network imported from a SUMO network file (import_sumo_network). Its nodes and segments are
    stored with source = name and the net's own ids as source_id; the file itself is kept (under
    MEDIA_ROOT/networks/<name>/) so that scenarios run it as is, with its junction logic, signal programs
    and lane connections. The stored roads of the city (network "city") are every segment of another source."""

    name = models.SlugField(max_length=48, unique=True, help_text="The network's name: the source of its rows.")
    net_file = models.CharField(max_length=500, help_text="The kept SUMO network file, relative to MEDIA_ROOT.")
    sha256 = models.CharField(max_length=64)
    projection = models.CharField(max_length=500, blank=True)
    edges = models.PositiveIntegerField(default=0)
    junctions = models.PositiveIntegerField(default=0)
    route_files = models.JSONField(
        default=list, blank=True, help_text="Kept route files of the city's own model (relative to MEDIA_ROOT)."
    )
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
