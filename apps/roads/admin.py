from django.contrib import admin

from apps.core.admin import FeatureAdmin

from .models import RoadNode, RoadSegment


@admin.register(RoadSegment)
class RoadSegmentAdmin(FeatureAdmin):
    list_display = ("__str__", "highway", "lanes", "maxspeed_kmh", "oneway", "length_m")
    list_filter = ("highway", "oneway", "source")
    search_fields = ("name", "source_id")
    raw_id_fields = ("from_node", "to_node")


@admin.register(RoadNode)
class RoadNodeAdmin(FeatureAdmin):
    list_display = ("__str__", "osm_id", "traffic_signals")
    list_filter = ("traffic_signals", "source")
    search_fields = ("source_id",)
