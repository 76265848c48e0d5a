from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import User
from .signals import announce_account_changed


@admin.register(User)
class CityUserAdmin(UserAdmin):
    list_display = ("username", "email", "role", "is_active", "last_login")
    list_filter = ("role", "is_active")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Role", {"fields": ("role",)}))

    def save_model(self, request: Any, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change:
            announce_account_changed(obj.pk)  # a role or is_active edited here reaches open websockets too
