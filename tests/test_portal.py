"""The public portal (issue 11): the front page for everyone with the open sensors' latest values (cached,
public kinds only), district conditions through the privacy module (its contract, with a stand-in module
here; the real one when installed), published comparisons and their difference map, open data with licence
and attribution; the styled 403/404 pages; the operators' quarantine page; and the whole visit in Chromium
against the real server, with a screenshot."""

from __future__ import annotations

import json
import re
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page

from apps.core.data_version import VERSION_KEY
from apps.portal import selectors
from apps.telemetry.models import QuarantinedReading
from tests.conftest import ROOT
from tests.portal_world import TITLE, make_world, remove_world
from tests.test_browser import browser, page  # noqa: F401 - the browser fixtures, shared

pytestmark = pytest.mark.django_db
SCREENSHOT = ROOT / "var" / "portal.png"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[dict[str, Any]]:  # noqa: ANN001
    with django_db_blocker.unblock():
        made = make_world("portal")
    yield made
    with django_db_blocker.unblock():
        remove_world(made)


@pytest.fixture
def fresh() -> None:
    """Forget the portal's cached entries (other tests of the session may have filled them)."""
    cache.delete("citytwin:portal:sensors")
    try:
        cache.incr(VERSION_KEY)  # the front page's figures are keyed by the data version
    except ValueError:
        cache.add(VERSION_KEY, 2, timeout=None)


# --- the front page and its endpoints -----------------------------------------------------------------
def test_the_front_page_is_open_to_everyone_and_cacheable(client, world, fresh) -> None:  # noqa: ANN001
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "public" in response["Cache-Control"] and "Cookie" in response["Vary"]
    assert f'href="/published/{world["published"].pk}/"' in html and TITLE in html
    assert "© OpenStreetMap contributors" in html and "ODbL" in html  # attribution and licence
    assert "/api/buildings/?format=geojson" in html and "/api/public/sensors/" in html  # downloads
    config = json.loads(re.search(r'<script id="portal-config" type="application/json">(.*?)</script>', html).group(1))
    assert config["sensors_url"] == "/api/public/sensors/" and 10 <= config["refresh_s"] <= 60
    assert set(config["catalog"]) == {"traffic", "air_quality"}
    assert "<script>" not in html and "Your tools" not in html
    assert client.post("/").status_code == 405  # read-only


def test_staff_see_the_same_portal_with_links_to_their_tools(client, operator, fresh) -> None:  # noqa: ANN001
    client.force_login(operator)
    response = client.get("/")
    html = response.content.decode()
    assert "Your tools" in html and 'href="/live/quarantine/"' in html and 'href="/scenarios/" ' not in html
    assert "private" in response["Cache-Control"]


def test_open_sensors_only_public_kinds_with_latest_values_and_cached(
    client, world, fresh, django_assert_num_queries
) -> None:  # noqa: ANN001, E501
    response = client.get("/api/public/sensors/")
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
    assert "public" in response["Cache-Control"] and "max-age=" in response["Cache-Control"]
    body = json.loads(response.content)
    found = {f["id"]: f for f in body["features"]}
    assert found["portal-traffic-1"]["properties"]["values"]["mean_speed_kmh"] == pytest.approx(37.4)
    assert found["portal-aq-1"]["properties"]["values"]["pm2_5"] == pytest.approx(8.25)
    assert found["portal-aq-1"]["properties"]["stale"] is False
    assert "portal-meter-1" not in found and {f["properties"]["kind"] for f in body["features"]} <= {
        "traffic",
        "air_quality",
    }
    assert body["catalog"]["air_quality"]["headline"] == "pm2_5"
    with django_assert_num_queries(0):  # the cached entry: no database work
        again = client.get("/api/public/sensors/")
    assert again.content == response.content
    assert client.get("/api/public/sensors/", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_published_comparisons_list_page_and_difference(client, world) -> None:  # noqa: ANN001
    pk = world["published"].pk
    listing = client.get("/api/public/comparisons/").json()["results"]
    mine = next(c for c in listing if c["id"] == pk)
    assert mine["kpis"]["mean_travel_time_s"]["delta"] == pytest.approx(30.0)
    page_html = client.get(f"/published/{pk}/").content.decode()
    assert TITLE in page_html and 'data-kpi="mean_travel_time_s"' in page_html and "+30.0" in page_html
    assert "+10.0 %" in page_html  # 30 s more on 300 s
    diff = client.get(f"/api/public/comparisons/{pk}/difference/")
    assert diff.status_code == 200 and "public" in diff["Cache-Control"]
    features = json.loads(diff.content)["features"]
    closed = world["segments"][0].pk
    by_segment = {f["properties"]["segment"]: f["properties"] for f in features}
    assert by_segment[closed]["flow_veh_h"] == 0 and by_segment[closed]["flow_base"] == pytest.approx(400.0)
    assert by_segment[world["segments"][1].pk]["flow_diff"] == pytest.approx(120.0)


def test_only_published_comparisons_are_public(client, world) -> None:  # noqa: ANN001
    from apps.simulation.models import PublishedComparison

    missing = PublishedComparison.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    assert client.get(f"/api/public/comparisons/{missing}/difference/").status_code == 404
    response = client.get(f"/published/{missing}/")
    assert response.status_code == 404 and "There is nothing at this address" in response.content.decode()
    # The runs themselves stay private: the public gets no run API, no run tiles.
    run = world["runs"][0].pk
    assert client.get(f"/api/runs/{run}/segments/").status_code in (401, 403)
    assert client.get(f"/tiles/runs/{run}/14/9326/4739.pbf").status_code == 401


def test_a_withdrawn_comparison_disappears_at_once(client) -> None:  # noqa: ANN001
    from apps.simulation.services import unpublish_comparison

    made = make_world("withdrawn")
    pk = made["published"].pk
    assert client.get(f"/api/public/comparisons/{pk}/difference/").status_code == 200
    unpublish_comparison(comparison_id=pk)
    assert client.get(f"/api/public/comparisons/{pk}/difference/").status_code == 404
    assert client.get(f"/published/{pk}/").status_code == 404
    assert all(c["id"] != pk for c in client.get("/api/public/comparisons/").json()["results"])


# --- district conditions, through the privacy module ---------------------------------------------------
@dataclass
class Row:  # the contract's PublicRow
    cell: str
    cell_name: str
    bucket: datetime
    value: float | None
    unit: str
    n_sources: int | None
    suppressed: bool


@dataclass
class Release:  # the contract's PublicRelease
    dataset: str
    partition: str
    measure: str | None
    k: int
    rows: list[Row]
    licence: str
    attribution: str
    epsilon: float | None


@pytest.fixture
def privacy_contract(monkeypatch) -> list[dict[str, Any]]:  # noqa: ANN001
    """A stand-in apps.privacy.selectors that keeps the privacy helper's contract (public_aggregates,
    partition_cells): two districts, the second suppressed; two hourly buckets, the later one counts."""
    from apps.districts.models import District

    districts = list(District.objects.order_by("code")[:2])
    calls: list[dict[str, Any]] = []

    def public_aggregates(*, dataset: str, partition: str, start: datetime, end: datetime, measure: str | None = None,
                          dp: bool = False) -> Release:  # fmt: skip
        calls.append({"dataset": dataset, "partition": partition, "start": start, "end": end})
        rows = []
        for hour, value in ((end - timedelta(hours=2), 10.0), (end - timedelta(hours=1), 42.0)):
            rows.append(Row(districts[0].code, districts[0].name, hour, value, "km/h", 12, False))
            rows.append(Row(districts[1].code, districts[1].name, hour, None, "km/h", None, True))
        return Release(dataset, partition, measure, 10, rows, "ODbL 1.0", "CityTwin privacy module", None)

    def partition_cells(partition: str) -> str:
        return json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": d.code, "geometry": json.loads(d.geom.json), "properties": {"name": d.name}}
            for d in districts]})  # fmt: skip

    module = types.ModuleType("apps.privacy.selectors")
    module.public_aggregates = public_aggregates  # type: ignore[attr-defined]
    module.partition_cells = partition_cells  # type: ignore[attr-defined]
    package = types.ModuleType("apps.privacy")
    package.selectors = module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "apps.privacy", package)
    monkeypatch.setitem(sys.modules, "apps.privacy.selectors", module)
    for dataset in selectors.CONDITION_DATASETS:
        end = timezone.now().replace(minute=0, second=0, microsecond=0)
        cache.delete(f"citytwin:portal:conditions:{dataset}:{end:%Y%m%d%H}")
    return [{"code": d.code, "name": d.name} for d in districts] + [{"calls": calls}]


def test_district_panel_follows_the_privacy_contract(client, privacy_contract, fresh) -> None:  # noqa: ANN001
    shown, withheld, calls = privacy_contract[0], privacy_contract[1], privacy_contract[2]["calls"]
    html = client.get("/").content.decode()
    assert 'data-privacy="present"' in html
    assert {c["dataset"] for c in calls} == set(selectors.CONDITION_DATASETS)
    assert all(c["partition"] == "district" and c["end"] - c["start"] >= timedelta(hours=1) for c in calls)
    row = re.search(rf'<tr data-cell="{shown["code"]}">(.*?)</tr>', html, re.S).group(1)
    assert shown["name"] in row and ">42.0<" in row  # the latest hour, not the earlier one
    assert "withheld" in re.search(rf'<tr data-cell="{withheld["code"]}">(.*?)</tr>', html, re.S).group(1)
    assert "/api/public/aggregates/?dataset=traffic" in html  # the CSV download is offered
    choropleth = client.get("/api/public/conditions/traffic/").json()
    values = {
        f["properties"]["cell"]: (f["properties"]["value"], f["properties"]["suppressed"])
        for f in choropleth["features"]
    }
    assert values == {shown["code"]: (42.0, False), withheld["code"]: (None, True)}
    assert choropleth["k"] == 10 and choropleth["licence"] == "ODbL 1.0"


def test_district_panel_with_this_branchs_privacy_module(client, fresh) -> None:  # noqa: ANN001
    """Without the privacy module the panel says so (and the endpoint is a 404); with it, real figures."""
    html = client.get("/").content.decode()
    conditions = client.get("/api/public/conditions/air_quality/")
    if selectors.privacy_module() is None:
        assert 'data-privacy="absent"' in html and 'id="districts-absent"' in html
        assert conditions.status_code == 404 and "privacy module" in conditions.json()["detail"]
        assert "/api/public/aggregates/" not in html
    else:
        assert 'data-privacy="present"' in html and 'class="data-table district-table"' in html
        assert conditions.status_code == 200


# --- styled errors and the quarantine page ---------------------------------------------------------------
def test_styled_404_and_403_say_why_and_lead_somewhere(client, planner) -> None:  # noqa: ANN001
    missing = client.get("/no-such-page/")
    html = missing.content.decode()
    assert (
        missing.status_code == 404 and "/no-such-page/" in html and 'href="/"' in html and 'class="site-header"' in html
    )
    assert client.get("/api/no-such-thing/").json()["code"] == "not_found"  # the API keeps JSON
    client.force_login(planner)
    denied = client.get("/live/quarantine/")
    html = denied.content.decode()
    assert denied.status_code == 403 and "traffic operators and admins" in html
    assert "test-planner" in html and "Go to the city's front page" in html


def test_quarantine_page_for_operators_paginated_filtered_and_readable(client, operator) -> None:  # noqa: ANN001
    now = timezone.now()
    QuarantinedReading.objects.bulk_create(
        [
            QuarantinedReading(
                received_at=now - timedelta(seconds=i),
                source="mqtt",
                sensor_code=f"qportal-sensor-{i % 3}",
                reason="out_of_range" if i % 2 else "future_time",
                detail=f"value {i} is past 1000",
                payload='{"v": 99999}',
            )
            for i in range(61)
        ]  # fmt: skip
    )
    assert client.get("/live/quarantine/").status_code == 302  # anonymous: to the login
    client.force_login(operator)
    # other tests' live workers leave refused readings too: this test reads its own sensors only
    first = client.get("/live/quarantine/?sensor=qportal-").content.decode()
    assert 'data-count="61"' in first and first.count("<tr data-reason=") == 50 and "Page 1 of 2" in first
    assert "Value outside the physical range" in first and "Time too far in the future" in first  # in words
    second = client.get("/live/quarantine/?sensor=qportal-&page=2").content.decode()
    assert second.count("<tr data-reason=") == 11
    filtered = client.get("/live/quarantine/?reason=out_of_range&sensor=qportal-sensor-1").content.decode()
    expected = sum(1 for i in range(61) if i % 2 and i % 3 == 1)
    assert f'data-count="{expected}"' in filtered and 'data-reason="future_time"' not in filtered
    assert client.get("/live/quarantine/?reason=nonsense&page=x").status_code == 200  # ignored, not an error


# --- the whole visit, in Chromium ---------------------------------------------------------------------------
def test_an_anonymous_visitor_sees_the_live_city_and_nothing_more(page: Page, server_url: str, world) -> None:  # noqa: ANN001, F811
    page.goto(server_url + "/")
    page.wait_for_selector(".sensor-marker[data-code='portal-aq-1']", timeout=60000)
    page.wait_for_selector("body[data-map-ready='1']", timeout=60000)
    markers = {m.get_attribute("data-code"): m.inner_text() for m in page.query_selector_all(".sensor-marker")}
    assert markers["portal-aq-1"] == "8.3" and markers["portal-traffic-1"] == "37.4"  # the headline values
    assert "portal-meter-1" not in markers and "Household meter" not in page.content()
    assert page.inner_text("#sensor-list li[data-code='portal-traffic-1'] .sensor-value") == "37.4 km/h"
    assert "open sensors, updated" in page.inner_text("#sensor-status")
    privacy = page.get_attribute("#districts", "data-privacy")
    assert privacy == ("absent" if selectors.privacy_module() is None else "present")
    assert "OpenStreetMap contributors" in page.inner_text(".maplibregl-ctrl-attrib")
    assert page.evaluate("document.querySelectorAll('#downloads a[download]').length") >= 6
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.click(f"a[href='/published/{world['published'].pk}/']")
    page.wait_for_selector("body[data-difference-ready='1']", timeout=60000)
    assert TITLE in page.inner_text("h1")
    assert "+30.0" in page.inner_text("tr[data-kpi='mean_travel_time_s'] .delta")
    assert "streets compared" in page.inner_text("#diff-status")
    page.screenshot(path=str(SCREENSHOT.with_name("portal-published.png")))

    for url in ("/live/", "/live/quarantine/", "/scenarios/", "/imports/upload/"):
        page.goto(server_url + url)
        assert page.url.startswith(server_url + "/accounts/login/"), url  # to the login, nothing shown
    page.goto(server_url + "/admin/")
    assert "/admin/login/" in page.url
    response = page.goto(server_url + "/published/999999/")
    assert response is not None and response.status == 404
    assert "There is nothing at this address" in page.inner_text("main")
    api = page.goto(server_url + "/api/quarantine/")
    assert api is not None and api.status in (401, 403)
