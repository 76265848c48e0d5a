from django.contrib import admin

from apps.core.admin import FeatureAdmin

from .models import Sensor


@admin.register(Sensor)
class SensorAdmin(FeatureAdmin):
    list_display = ("code", "name", "kind", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    raw_id_fields = ("road_segment", "building", "asset")
