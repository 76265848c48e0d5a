"""List pages of the layers that change only through imports and edits are kept in the shared cache under
the city's data version: a repeated page comes from the cache, any change to the city is seen at once, and
a role never gets the page cached for another."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test import override_settings

from apps.assets.models import UtilityAsset
from apps.buildings.models import Building
from apps.core.data_version import city_data_changed

pytestmark = pytest.mark.django_db
URL = "/api/buildings/?limit=3"


def _names(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200, response.content[:300]
    return [f["properties"]["name"] for f in response.json()["features"]]


def test_a_repeated_page_comes_from_the_cache_until_the_city_changes(api) -> None:  # noqa: ANN001
    first = Building.objects.order_by("pk").first()
    before = _names(api.get(URL))
    # A write that no writer announces (raw SQL, as a loader's statement before it calls city_data_changed):
    # the page is still the cached one, which shows it is cached...
    with connection.cursor() as cursor:
        cursor.execute("UPDATE buildings_building SET name = 'Renamed in SQL' WHERE id = %s", [first.pk])
    assert _names(api.get(URL)) == before
    # ...and once the change is announced, the next request sees it.
    city_data_changed()
    assert _names(api.get(URL))[0] == "Renamed in SQL"


def test_an_edit_through_the_orm_is_seen_at_once(api) -> None:  # noqa: ANN001
    first = Building.objects.order_by("pk").first()
    assert _names(api.get(URL))[0] != "Edited"
    first.name = "Edited"
    first.save()
    assert _names(api.get(URL))[0] == "Edited"
    first.delete()
    assert first.pk not in [f["id"] for f in api.get(URL).json()["features"]]


def test_each_audience_has_its_own_pages(api, api_as, planner) -> None:  # noqa: ANN001
    centre = Building.objects.order_by("pk").first().geom.point_on_surface
    UtilityAsset.objects.create(
        kind="substation", source="test", source_id="s-cache", geom=Point(centre.x, centre.y, srid=4326)
    )
    url = "/api/utility-assets/?kind=substation&limit=10000"
    public_first = api.get(url).json()
    staff = api_as(planner).get(url).json()
    public_again = api.get(url).json()
    assert public_first["count"] == public_again["count"] == 0  # substations are not public
    assert staff["count"] >= 1 and "s-cache" in {f["properties"]["source_id"] for f in staff["features"]}


def test_pages_above_the_size_limit_and_with_the_cache_off_are_always_rendered(api) -> None:  # noqa: ANN001
    first = Building.objects.order_by("pk").first()
    for overrides in ({"CITYTWIN_LIST_CACHE_MAX_KB": 0}, {"CITYTWIN_LIST_CACHE": False}):
        with override_settings(**overrides):
            _names(api.get(URL))
            with connection.cursor() as cursor:
                cursor.execute("UPDATE buildings_building SET name = %s WHERE id = %s", [str(overrides), first.pk])
            assert _names(api.get(URL))[0] == str(overrides)
