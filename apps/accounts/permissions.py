"""Role checks for the API. Every view names its policy; the default is RoleReadOnly."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from .models import MACHINE_ROLES, Role


def role_of(user: Any) -> str:
    """The role of a request's user: 'public' when anonymous; 'admin' for superusers. Machine accounts
    (ingest, device) read only what the public reads."""
    if user is None or not user.is_authenticated or not user.is_active:
        return "public"
    if user.is_superuser:
        return Role.ADMIN
    return str(user.role)


def reads_as_public(user: Any) -> bool:
    return role_of(user) in {"public", *MACHINE_ROLES}


def has_role(user: Any, *roles: str) -> bool:
    return role_of(user) in roles


class RoleReadOnly(BasePermission):
    """Anyone may read (the queryset itself hides what the role may not see); gis_staff and admin write."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return role_of(request.user) in {Role.GIS_STAFF, Role.ADMIN}


class IsDataEditor(BasePermission):
    """gis_staff and admin only, for every method."""

    message = "Loading or editing city data needs the gis_staff or admin role."

    def has_permission(self, request: Request, view: Any) -> bool:
        return role_of(request.user) in {Role.GIS_STAFF, Role.ADMIN}
