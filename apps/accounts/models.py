"""A user has exactly one role. Anonymous visitors are the public."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    PLANNER = "planner", "Planner"
    OPERATOR = "operator", "Traffic operator"
    GIS_STAFF = "gis_staff", "GIS staff"
    ADMIN = "admin", "Administrator"
    # Machine accounts for HTTP ingest: an ingest service may post readings for any sensor, a device only
    # for the sensor whose code is its username. Neither reads anything.
    INGEST = "ingest", "Ingest service"
    DEVICE = "device", "Device"


# Roles that may load and edit city data (imports, the admin's edit forms).
DATA_EDITOR_ROLES = frozenset({Role.GIS_STAFF, Role.ADMIN})
# People (as opposed to machine accounts): they read what the public reads and more.
STAFF_ROLES = frozenset({Role.PLANNER, Role.OPERATOR, Role.GIS_STAFF, Role.ADMIN})
MACHINE_ROLES = frozenset({Role.INGEST, Role.DEVICE})


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PLANNER)

    @property
    def can_edit_data(self) -> bool:
        return self.is_active and (self.is_superuser or self.role in DATA_EDITOR_ROLES)

    def has_role(self, *roles: str) -> bool:
        return self.is_active and (self.is_superuser or self.role in roles)
