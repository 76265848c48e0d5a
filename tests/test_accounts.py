"""Roles: what each one may do, and the staff flag that follows the role."""

from __future__ import annotations

import pytest

from apps.accounts.models import Role
from apps.accounts.permissions import role_of
from apps.accounts.services import set_role

pytestmark = pytest.mark.django_db


def test_roles_set_admin_access(planner, gis_staff, admin_user) -> None:  # noqa: ANN001
    assert not planner.is_staff and not planner.can_edit_data
    assert gis_staff.is_staff and gis_staff.can_edit_data and not gis_staff.is_superuser
    assert gis_staff.has_perm("buildings.change_building") and not gis_staff.has_perm("accounts.change_user")
    assert admin_user.is_superuser and role_of(admin_user) == Role.ADMIN


def test_changing_a_role_revokes_editing(gis_staff) -> None:  # noqa: ANN001
    set_role(user=gis_staff, role=Role.OPERATOR)
    gis_staff.refresh_from_db()
    assert not gis_staff.is_staff and not gis_staff.can_edit_data


def test_gis_staff_can_edit_geometry_in_the_admin_planner_cannot(client, gis_staff, planner) -> None:  # noqa: ANN001
    from apps.buildings.models import Building

    building = Building.objects.first()
    url = f"/admin/buildings/building/{building.pk}/change/"
    client.force_login(planner)
    assert client.get(url).status_code == 302  # to the admin login
    client.force_login(gis_staff)
    assert client.get(url).status_code == 200


def test_inactive_user_is_public() -> None:
    class Inactive:
        is_authenticated = True
        is_active = False

    assert role_of(Inactive()) == "public"


def test_admin_refuses_an_invalid_geometry_and_keeps_the_stored_one(client, gis_staff) -> None:  # noqa: ANN001
    from apps.buildings.models import Building

    building = Building.objects.filter(source="osm").first()
    before = building.geom.wkt
    client.force_login(gis_staff)
    bowtie = '{"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]]}'
    response = client.post(
        f"/admin/buildings/building/{building.pk}/change/",
        {"geom": bowtie, "name": "x", "use": "yes", "height_m": "10", "height_source": "default", "tags": "{}"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Invalid geometry: Self-intersection" in response.content.decode()
    building.refresh_from_db()
    assert building.geom.wkt == before
