from django.contrib import admin

from apps.core.admin import FeatureAdmin

from .models import District


@admin.register(District)
class DistrictAdmin(FeatureAdmin):
    list_display = ("name", "code", "level", "admin_level")
    list_filter = ("level",)
    search_fields = ("name", "code")
