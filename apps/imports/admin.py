from django.contrib import admin

from .models import ImportRun


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ("id", "source_name", "state", "dry_run", "created_by", "created_at")
    list_filter = ("state", "dry_run")
    readonly_fields = [f.name for f in ImportRun._meta.fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def, override]
        return False
