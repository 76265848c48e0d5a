from django.contrib import admin

from apps.core.admin import FeatureAdmin

from .models import Building


@admin.register(Building)
class BuildingAdmin(FeatureAdmin):
    list_display = ("__str__", "use", "levels", "height_m", "height_source", "source")
    list_filter = ("use", "height_source", "source")
    search_fields = ("name", "source_id")
