from django.contrib import admin

from .models import Alert, AlertEvent, AlertRule, QuarantinedReading


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "sensor_kind", "property", "comparison", "threshold", "duration_s", "enabled")
    list_filter = ("sensor_kind", "enabled")


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    extra = 0
    readonly_fields = ("at", "action", "user", "note")
    can_delete = False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("message", "kind", "sensor", "started_at", "resolved_at", "acknowledged_by")
    list_filter = ("kind", "resolved_at")
    readonly_fields = [f.name for f in Alert._meta.fields]
    inlines = [AlertEventInline]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def, override]
        return False


@admin.register(QuarantinedReading)
class QuarantinedReadingAdmin(admin.ModelAdmin):
    list_display = ("received_at", "source", "sensor_code", "reason", "detail")
    list_filter = ("reason", "source")
    search_fields = ("sensor_code", "detail")
    readonly_fields = [f.name for f in QuarantinedReading._meta.fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def, override]
        return False
