"""The energy model: the building loads, the substations and their service areas on the demo city, and the
transformer loading from pandapower checked by hand."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import connection

from apps.assets.models import UtilityAsset
from apps.buildings.models import Building
from apps.energy import conf
from apps.energy.grid import GridModel, Substation, building_attachment, grid_model, nearest_buildings, parse_capacity
from apps.energy.loads import building_load_detail, building_loads
from apps.energy.powerflow import loading_series
from apps.energy.profiles import LOAD_PROFILES, load_factor, profile_of
from apps.sensors.models import Sensor
from apps.telemetry.history import HistoricReading, write_history
from apps.telemetry.ingest import fold_rollups

TZ = "Europe/Helsinki"
WEEKDAY = dt.date(2026, 11, 10)  # a Tuesday


def _one_substation(capacity_kva: float) -> GridModel:
    return GridModel([Substation("asset-1", "S", 1, 24.94, 60.17, capacity_kva, "tag", False, "{}")], [], "")


@pytest.mark.parametrize("pf", [1.0, 0.9])
def test_transformer_loading_matches_a_hand_calculation(pf: float) -> None:
    """A 400 kVA 20/0.4 kV transformer (pandapower's standard type: vk 6 %, vkr 1.425 %, pfe 1.35 kW,
    i0 0.3375 %) fed by 0.5 km of 185 mm² cable, carrying 200 kW at power factor pf on its LV bus.

    By hand, per unit on the transformer's rating (S_n = 0.4 MVA):
      r = vkr = 0.01425, x = sqrt(vk² - vkr²) = 0.05828; load s = (0.5 + j 0.5 tan φ)
      LV voltage u from u = 1 - (r + jx) conj(s / u) (three fixed-point steps from u = 1)
      LV current i = |s| / |u|; series losses (r + jx) i²; no-load pfe/S_n and q0 = sqrt(i0² - pfe²) (0 for this type: i0 = pfe)
      HV power s_hv = s + (r + jx) i² + (pfe + j q0); HV current ≈ |s_hv| (the MV voltage is ~1 pu: the
      cable's drop at 11.5 A is a few volts of 20 kV)
      loading = 100 x max(i_lv, i_hv), as pandapower defines it (current-based, both sides)."""
    loading = loading_series(_one_substation(400.0), {"asset-1": [200.0]}, power_factor=pf)["asset-1"][0]

    vk, vkr, pfe, i0 = 0.06, 0.01425, 1.35 / 400, 0.003375
    z = complex(vkr, math.sqrt(vk**2 - vkr**2))
    s = complex(0.5, 0.5 * math.tan(math.acos(pf)))
    u = complex(1, 0)
    for _ in range(3):
        u = 1 - z * (s / u).conjugate()
    i_lv = abs(s) / abs(u)
    s_hv = s + z * i_lv**2 + complex(pfe, math.sqrt(max(i0**2 - pfe**2, 0.0)))
    expected = 100 * max(i_lv, abs(s_hv))
    assert loading == pytest.approx(expected, rel=0.01)
    assert loading > 50.0  # losses and the voltage drop come on top of 200 kW / 400 kVA


def test_an_unconverged_interval_is_nan_and_the_others_are_not() -> None:
    result = loading_series(_one_substation(630.0), {"asset-1": [300.0, 1e7, 300.0]})["asset-1"]
    assert math.isnan(result[1])
    assert result[0] == pytest.approx(result[2]) and 45 < result[0] < 60


@pytest.mark.parametrize(
    ("text", "kva"),
    [
        ("630 kVA", 630.0),
        ("0.63 MVA", 630.0),
        ("1 MVA", 1000.0),
        ("630000 VA", 630.0),
        ("400", 400.0),
        ("630 kVA;400 kVA", 1030.0),
        ("big", None),
        ("", None),
    ],
)
def test_capacity_tags_parse(text: str, kva: float | None) -> None:
    assert parse_capacity(text) == kva


@pytest.mark.django_db
def test_demo_city_service_areas() -> None:
    grid = grid_model()
    stored = UtilityAsset.objects.get(kind="substation")
    keys = [s.key for s in grid.substations]
    assert len(keys) == len(set(keys))
    assert f"asset-{stored.pk}" in keys
    assert not grid.by_key()[f"asset-{stored.pk}"].synthetic
    synthetic = [s for s in grid.substations if s.synthetic]
    assert synthetic and all(s.key.startswith("synthetic-") and s.asset_id is None for s in synthetic)
    assert f"{len(synthetic)} synthetic" in grid.note

    # Every building served by exactly one substation, inside that substation's area.
    attachment = building_attachment(grid)
    assert set(attachment) == set(Building.objects.values_list("pk", flat=True))
    areas = {s.key: GEOSGeometry(s.area_geojson) for s in grid.substations}
    for b in Building.objects.all()[:60]:
        assert areas[attachment[b.pk]].buffer(1e-7).contains(b.geom.point_on_surface)

    # The areas do not overlap (PostGIS: sum of areas = area of their union).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(ST_Area(g::geography)), ST_Area(ST_Union(g)::geography) "
            "FROM unnest(%s::text[]) j CROSS JOIN LATERAL ST_GeomFromGeoJSON(j) g",
            [[s.area_geojson for s in grid.substations]],
        )
        total, union = cursor.fetchone()
    assert total == pytest.approx(union, rel=1e-6)

    # Each synthetic substation's peak load (sum of building peaks) fits the design loading, or it was sized up.
    assert all(s.capacity_kva >= conf.DEFAULT_CAPACITY_KVA for s in synthetic)
    assert grid_model() == grid  # deterministic


@pytest.mark.django_db
def test_enough_stored_substations_get_no_synthetic_ones() -> None:
    centre = Building.objects.order_by("pk").first().geom.point_on_surface
    for n, rating in enumerate(["40 MVA", "40000 kVA"]):
        UtilityAsset.objects.create(
            kind="substation",
            source="test",
            source_id=f"s{n}",
            geom=Point(centre.x + n * 0.002, centre.y, srid=4326),
            tags={"power": "substation", "rating": rating},
        )
    grid = grid_model()
    assert not any(s.synthetic for s in grid.substations)
    assert [s.capacity_kva for s in grid.substations if s.capacity_source == "tag"] == [40000.0, 40000.0]
    assert "synthetic" not in grid.note
    assert set(building_attachment(grid).values()) <= {s.key for s in grid.substations}


@pytest.mark.django_db
def test_residential_evening_above_night_and_substation_sums() -> None:
    intervals = [(4 * 3600, 4 * 3600 + 900), (19 * 3600, 19 * 3600 + 900)]
    home = Building.objects.filter(use="apartments").order_by("pk").first()
    detail = building_load_detail(day=WEEKDAY, time_zone=TZ, intervals=intervals)
    night, evening = detail[home.pk]
    assert evening > night > 0
    assert profile_of("apartments") == "residential"

    grid = grid_model()
    per_substation = building_loads(grid, day=WEEKDAY, time_zone=TZ, intervals=intervals)
    total = sum(per_substation.values())
    assert total == pytest.approx(sum(detail.values()), rel=1e-9)


@pytest.mark.django_db
def test_a_meter_reading_twice_the_model_doubles_the_building() -> None:
    building = Building.objects.filter(use="office").order_by("pk").first()
    meter = Sensor.objects.create(
        code="energy-test-2x",
        kind="energy",
        geom=building.geom.point_on_surface,
        building=building,
        source="test",
        source_id="energy-test-2x",
    )
    tz = ZoneInfo(TZ)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Area(geom::geography) * coalesce(levels, greatest(round(height_m / 3.0), 1)) FROM buildings_building WHERE id = %s",
            [building.pk],
        )
        (area,) = cursor.fetchone()
    peak_kw = area * LOAD_PROFILES["office"].peak_w_m2 / 1000
    start = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    readings = []
    for h in range(24 * 7):
        for quarter in range(4):
            t = start + dt.timedelta(hours=h, minutes=15 * quarter)
            modelled = peak_kw * load_factor("office", (start + dt.timedelta(hours=h, minutes=30)).astimezone(tz))
            readings.append(HistoricReading(meter.pk, t, {"active_power_kw": 2 * modelled}))
    write_history(readings, received_at=start)
    fold_rollups(wait=True)

    intervals = [(h * 3600, (h + 1) * 3600) for h in range(24)]
    detail = building_load_detail(day=WEEKDAY, time_zone=TZ, intervals=intervals)
    ratio = detail[building.pk] / (
        peak_kw * np.array([load_factor("office", dt.datetime.combine(WEEKDAY, dt.time(h, 30), tz)) for h in range(24)])
    )
    assert ratio == pytest.approx(np.full(24, 2.0), rel=0.02)


@pytest.mark.django_db
def test_nearest_buildings() -> None:
    building = Building.objects.order_by("pk").first()
    p = building.geom.point_on_surface
    assert nearest_buildings([(p.x, p.y), (p.x + 1.0, p.y)]) == [building.pk, None]
