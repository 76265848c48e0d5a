"""The planner's pages (/scenarios/, the editor, /runs/<id>/): who may open them, what they carry, and the
whole path in Debian's headless Chromium against the real ASGI server and the real Celery job worker: a
planner closes a main road of the Helsinki network on the map, saves, runs it, runs its base beside it,
watches the progress, and sees the per-segment results and the difference on the map (issue 9, point 1)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from apps.accounts.models import Role
from apps.accounts.services import create_user
from tests.test_browser import browser, page  # noqa: F401 - the browser fixtures, shared

pytestmark = pytest.mark.django_db
PAGES = ["/scenarios/", "/scenarios/new/", "/scenarios/1/", "/runs/1/"]  # 403 before any 404: no probing
PLANNER = ("scenario-page-planner", "a-long-test-password-9")
SCREENS = Path("/work/screens")  # copies for the integrator to look at
FINISHED = ", ".join(f"#run-page[data-state={state}]" for state in ("succeeded", "failed", "cancelled"))
RUN_TIMEOUT_MS = 300_000  # the network build, two SUMO runs one after the other on one worker


def _config(html: str, element_id: str) -> dict[str, Any]:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert found, f"the page carries its configuration as json_script #{element_id}"
    return json.loads(found.group(1))


# --- who may open the pages ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_the_login(client, url: str) -> None:  # noqa: ANN001
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/") and f"next={url}" in response["Location"]


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("who", ["operator", "gis_staff"])
def test_other_roles_get_the_sites_403_page(client, request, who: str, url: str) -> None:  # noqa: ANN001
    client.force_login(request.getfixturevalue(who))
    response = client.get(url)
    assert response.status_code == 403
    html = response.content.decode()
    assert "Scenarios are for planners" in html and 'class="site-header"' in html  # the styled page, not bare text
    assert "scenarios/editor.js" not in html and "scenarios/run.js" not in html
    assert 'href="/scenarios/"' not in client.get("/").content.decode()  # and no nav link


def _scenario_and_run(owner: Any) -> tuple[int, int]:
    from apps.simulation.services import create_scenario, start_run

    document = {"name": "Pages test", "network": "city", "begin": 25200, "end": 27000, "seeds": [1],
                "demand": {"source": "random", "period": 2, "seed": 1}}  # fmt: skip
    scenario = create_scenario(document=document, owner=owner)
    return scenario.pk, start_run(scenario=scenario, owner=owner, enqueue=False).pk


@pytest.mark.parametrize("who", ["planner", "admin_user"])
def test_planners_and_admins_get_the_pages(client, request, who: str) -> None:  # noqa: ANN001
    user = request.getfixturevalue(who)
    client.force_login(user)
    listing = client.get("/scenarios/")
    assert listing.status_code == 200
    assert _config(listing.content.decode(), "scenarios-config")["api"]["scenarios"] == "/api/scenarios/"
    assert 'href="/scenarios/" aria-current="page"' in listing.content.decode()  # the nav link, current
    assert "csrftoken" in listing.cookies  # the pages POST to the API with X-CSRFToken

    editor = client.get("/scenarios/new/")
    assert editor.status_code == 200
    config = _config(editor.content.decode(), "scenario-config")
    assert config["scenario_id"] is None
    city = next(n for n in config["networks"] if n["name"] == "city")
    # The map opens on the stored roads of the demo city (central Helsinki).
    assert 24.8 < city["bounds"][0] < city["bounds"][2] < 25.1 and 60.1 < city["bounds"][1] < city["bounds"][3] < 60.3
    assert config["defaults"]["demand"]["source"] == "random"
    assert 'type="module"' in editor.content.decode() and "scenarios/editor.js" in editor.content.decode()

    scenario_id, run_id = _scenario_and_run(user)
    stored = client.get(f"/scenarios/{scenario_id}/")
    assert stored.status_code == 200 and '<h1 id="sc-title" class="sc-title">Pages test</h1>' in stored.content.decode()
    assert _config(stored.content.decode(), "scenario-config")["scenario_id"] == scenario_id
    run = client.get(f"/runs/{run_id}/")
    assert run.status_code == 200
    assert _config(run.content.decode(), "run-config")["run_id"] == run_id


def test_unknown_scenarios_and_runs_are_404_pages(client, planner) -> None:  # noqa: ANN001
    client.force_login(planner)
    scenario_id, run_id = _scenario_and_run(planner)
    assert client.get(f"/scenarios/{scenario_id + 1000}/").status_code == 404
    assert client.get(f"/runs/{run_id + 1000}/").status_code == 404
    assert client.get("/scenarios/99999999999999999999/").status_code == 404  # past int, no 500


def test_new_scenario_takes_its_base_from_the_query_and_ignores_junk(client, planner) -> None:  # noqa: ANN001
    client.force_login(planner)
    assert _config(client.get("/scenarios/new/?base=12").content.decode(), "scenario-config")["base"] == 12
    for junk in ("abc", "-1", "1e3", "9" * 30, ""):
        response = client.get("/scenarios/new/", {"base": junk})
        assert response.status_code == 200
        assert _config(response.content.decode(), "scenario-config")["base"] is None


# --- the whole path in the browser ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def planner_login(django_db_setup, django_db_blocker) -> Iterator[tuple[str, str]]:  # noqa: ANN001
    """A committed planner (outside any test transaction) so that the server process sees it."""
    from apps.accounts.models import User

    with django_db_blocker.unblock():
        create_user(username=PLANNER[0], password=PLANNER[1], role=Role.PLANNER)
    yield PLANNER
    with django_db_blocker.unblock():
        User.objects.filter(username=PLANNER[0]).delete()


@pytest.fixture(scope="module")
def main_road(django_db_setup, django_db_blocker) -> dict[str, Any]:  # noqa: ANN001
    """The longest stored segment of Mannerheimintie, Helsinki's main street, in the city network."""
    from apps.roads.models import RoadSegment

    with django_db_blocker.unblock():
        segment = (
            RoadSegment.objects.filter(name="Mannerheimintie", highway__in=["primary", "trunk", "secondary"])
            .exclude(from_node=None)
            .exclude(to_node=None)
            .order_by("-length_m", "id")
            .first()
        )
        assert segment is not None, "the demo city has Mannerheimintie"
        middle = segment.geom.interpolate_normalized(0.5)
        return {"id": segment.pk, "lon": middle.x, "lat": middle.y}


def _log_in(pg: Page, server_url: str, next_url: str) -> None:
    pg.goto(server_url + next_url)
    pg.fill("input[name=username]", PLANNER[0])
    pg.fill("input[name=password]", PLANNER[1])
    pg.click("main button[type=submit]")
    pg.wait_for_url(f"**{next_url}")


def _click_road(pg: Page, map_name: str, container: str, road: dict[str, Any]) -> None:
    """Centre the map on the road's middle, close in, and click the road there as a person would."""
    lonlat = [road["lon"], road["lat"]]
    pg.evaluate(f"([lon, lat]) => window.{map_name}.jumpTo({{center: [lon, lat], zoom: 17.5}})", lonlat)
    pg.wait_for_function(f"() => window.{map_name}.loaded() && window.{map_name}.areTilesLoaded()")
    point = pg.evaluate(
        f"([lon, lat]) => {{ const p = window.{map_name}.project([lon, lat]); return [p.x, p.y]; }}", lonlat
    )
    box = pg.locator(container).bounding_box()
    assert box is not None
    pg.mouse.click(box["x"] + point[0], box["y"] + point[1])


@pytest.mark.browser
@pytest.mark.timeout(900)
def test_planner_closes_a_main_road_runs_it_beside_the_base_and_sees_the_difference(  # noqa: ANN001
    page: Page,  # noqa: F811 - the shared fixture
    server_url: str,
    planner_login,
    main_road,
    job_worker,
    tmp_path: Path,
) -> None:
    frames: list[str] = []
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    _log_in(page, server_url, "/scenarios/")
    page.wait_for_selector("#scenario-list[data-state=ready]")

    # The base: the same window, demand and seeds, no edits (made through the API in the page's session).
    small = {"begin": 7 * 3600, "end": 7 * 3600 + 1800, "interval": 900, "seeds": [1]}
    demand = {"source": "random", "period": 2, "seed": 1, "fringe_factor": 5, "scale": 1}
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    created = page.request.post(
        server_url + "/api/scenarios/",
        data=json.dumps({"name": "Helsinki base", "network": "city", "demand": demand, "edits": [], **small}),
        headers={"Content-Type": "application/json", "X-CSRFToken": token},
    )
    assert created.status == 201, created.text()
    base_id = created.json()["id"]

    # The editor: the window, the demand and the base, then the road closed on the map.
    page.goto(server_url + f"/scenarios/new/?base={base_id}")
    page.wait_for_selector("#scenario-editor[data-state=ready]")
    page.fill("#sc-name", "Close Mannerheimintie (test)")
    page.fill("#sc-begin", "07:00")
    page.fill("#sc-end", "07:30")
    page.select_option("#sc-interval", "900")
    page.fill("#sc-period", "2")
    page.fill("#sc-demand-seed", "1")
    page.fill("#sc-seeds", "1")
    assert page.input_value("#sc-base") == str(base_id)

    # A field error from the API lands next to its field, and nothing is saved.
    page.fill("#sc-period", "-1")
    page.click("#sc-save")
    page.wait_for_selector("#scenario-editor[data-state=error]")
    assert page.inner_text("[data-field='demand.period'] .sc-error").strip()
    assert page.get_attribute("#scenario-editor", "data-scenario") is None
    page.fill("#sc-period", "2")

    _click_road(page, "scenarioMap", "#sc-map", main_road)
    page.wait_for_selector("#seg-panel:not([hidden])")
    page.wait_for_function("() => document.getElementById('seg-name').textContent.includes('Mannerheimintie')")
    page.click("#seg-close")
    edits = page.inner_text("#sc-edits")
    assert "Close Mannerheimintie" in edits
    assert int(page.get_attribute("#scenario-editor", "data-edits") or 0) >= 1

    page.click("#sc-save")
    page.wait_for_selector("#scenario-editor[data-state=saved]")
    scenario_id = int(page.get_attribute("#scenario-editor", "data-scenario") or 0)
    assert page.url.endswith(f"/scenarios/{scenario_id}/")
    changes = page.inner_text("#sc-changes")
    assert "close Mannerheimintie" in changes
    assert f"against “Helsinki base (v1)” (#{base_id})" in (page.text_content("#sc-changes-against") or "")

    page.evaluate("() => window.scenarioMap.zoomTo(15.5, {duration: 0})")
    page.wait_for_function("() => window.scenarioMap.loaded() && window.scenarioMap.areTilesLoaded()")
    page.screenshot(path=str(tmp_path / "scenario-editor.png"))
    shutil.copyfile(tmp_path / "scenario-editor.png", SCREENS / "scenario-editor.png")

    # Run: the run page follows the seed's job live, to 100 %.
    page.click("#sc-run")
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    run_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    page.wait_for_selector(FINISHED, timeout=RUN_TIMEOUT_MS)
    assert page.get_attribute("#run-page", "data-state") == "succeeded", page.inner_text("#run-error")
    assert page.get_attribute("#run-page", "data-progress") == "100"
    assert page.inner_text("#run-percent").strip() == "100 %"
    assert "Seed 1: succeeded 100 %" in page.inner_text("#run-seeds")
    states = [item.get("state") for f in frames if '"items"' in f for item in json.loads(f).get("items", [])]
    assert "succeeded" in states, frames[:10]  # the end came over the socket, not only by polling

    # Per-segment results on the map, and the trip KPIs.
    page.wait_for_selector("#run-page[data-features]")
    drawn = int(page.get_attribute("#run-page", "data-features") or 0)
    assert drawn > 50
    page.wait_for_function("() => window.runMap.queryRenderedFeatures({layers: ['res-lines']}).length > 50")
    assert page.locator("#run-kpis .sc-kpi").count() >= 3
    assert page.locator("#res-legend").is_visible()
    assert "OpenStreetMap contributors" in page.inner_text(".maplibregl-ctrl-attrib")

    # The base has no run yet: run it from here, beside this one; the difference appears when it ends.
    page.wait_for_selector("#diff-run-base:not([hidden])")
    page.click("#diff-run-base")
    page.wait_for_selector("#run-page[data-diff-features]", timeout=RUN_TIMEOUT_MS)
    assert int(page.get_attribute("#run-page", "data-diff-features") or 0) > 50
    page.check("#view-difference")
    page.wait_for_function("() => window.runMap.queryRenderedFeatures({layers: ['diff-lines']}).length > 50")
    assert page.get_attribute("#run-page", "data-view") == "difference"
    assert "Flow change" in page.inner_text("#res-legend")

    # The closed road: its traffic is gone in the difference (everything it carried in the base).
    _click_road(page, "runMap", "#run-map", main_road)
    page.wait_for_selector(".sc-popup[data-kind=diff-lines]")
    page.wait_for_function("() => document.querySelector('.sc-popup').textContent.includes('Mannerheimintie')")
    text = page.inner_text(".sc-popup")
    assert "Mannerheimintie" in text and "Flow change" in text and "→ 0 veh/h" in text

    flow = re.search(r"([\d,.]+) → 0 veh/h", text)
    assert flow and float(flow.group(1).replace(",", "")) > 0, text  # it carried traffic in the base

    page.evaluate("() => window.runMap.zoomTo(15, {duration: 0})")
    page.wait_for_function("() => window.runMap.loaded() && window.runMap.areTilesLoaded()")
    shot = tmp_path / "scenario-run.png"
    page.screenshot(path=str(shot))
    shutil.copyfile(shot, SCREENS / "scenario-run.png")
    assert run_id > 0 and scenario_id != base_id
