"""Reading jobs: who may see and cancel which."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.accounts.models import STAFF_ROLES, Role
from apps.accounts.permissions import role_of

from .models import Job


def jobs_visible_to(user: Any) -> QuerySet[Job]:
    """Admins see every job; other people their own; the public and machine accounts none."""
    role = role_of(user)
    jobs = Job.objects.select_related("owner").order_by("-created_at")
    if role == Role.ADMIN:
        return jobs
    if role in STAFF_ROLES:
        return jobs.filter(owner=user)
    return jobs.none()
