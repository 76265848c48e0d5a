from django.contrib import admin

from apps.core.admin import FeatureAdmin

from .models import UtilityAsset


@admin.register(UtilityAsset)
class UtilityAssetAdmin(FeatureAdmin):
    list_display = ("__str__", "kind", "operator", "source")
    list_filter = ("kind", "source")
    search_fields = ("name", "source_id")
