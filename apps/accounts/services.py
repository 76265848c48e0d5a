"""Account actions: giving a user a role keeps Django's staff flag and admin permissions in step; every change
is announced (signals.account_changed) so open websockets follow it."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from .models import DATA_EDITOR_ROLES, Role, User
from .signals import announce_account_changed

DATA_EDITORS_GROUP = "data editors"
EDITABLE_APPS = ("buildings", "roads", "assets", "districts", "sensors")


def ensure_data_editors_group() -> Group:
    group, _ = Group.objects.get_or_create(name=DATA_EDITORS_GROUP)
    perms = Permission.objects.filter(content_type__app_label__in=EDITABLE_APPS)
    perms = perms | Permission.objects.filter(content_type__app_label="imports", codename__startswith="view_")
    group.permissions.set(perms)
    return group


@transaction.atomic
def set_role(*, user: User, role: Role) -> User:
    user.role = role
    # The Django admin is the edit UI for gis_staff; admins get everything.
    user.is_staff = role in DATA_EDITOR_ROLES
    user.is_superuser = role == Role.ADMIN
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    group = ensure_data_editors_group()
    if role == Role.GIS_STAFF:
        user.groups.add(group)
    else:
        user.groups.remove(group)
    announce_account_changed(user.pk)  # open websockets drop what the new role may not see
    return user


@transaction.atomic
def deactivate_user(*, user: User) -> User:
    """The account can no longer sign in; its sessions and open websockets end."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    announce_account_changed(user.pk)
    return user


@transaction.atomic
def create_user(*, username: str, password: str, role: Role, email: str = "") -> User:
    user = User.objects.create_user(username=username, password=password, email=email)
    return set_role(user=user, role=role)
