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
    """A committed planner (outside any test transaction) so that the server process sees it. At the end,
    everything the planner made (scenarios, runs with their results, jobs) goes with it: later tests count
    scenarios."""
    from apps.jobs.models import Job
    from apps.simulation.models import Scenario, ScenarioRun

    with django_db_blocker.unblock():
        user = create_user(username=PLANNER[0], password=PLANNER[1], role=Role.PLANNER)
    yield PLANNER
    with django_db_blocker.unblock():
        runs = ScenarioRun.objects.filter(scenario__owner=user)
        jobs = list(Job.objects.filter(seed_run__run__in=runs).values_list("pk", flat=True))
        runs.delete()  # with their seeds, results and calibration rows
        Job.objects.filter(pk__in=jobs).delete()
        Scenario.objects.filter(owner=user).delete()
        user.delete()


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

    page.set_viewport_size({"width": 1440, "height": 1000})  # room for the whole panel in the screenshot
    page.evaluate("() => { document.querySelector('.sc-panel').scrollTop = 0; }")
    page.evaluate("() => { window.runMap.resize(); window.runMap.zoomTo(15, {duration: 0}); }")
    page.wait_for_function("() => window.runMap.loaded() && window.runMap.areTilesLoaded()")
    shot = tmp_path / "scenario-run.png"
    page.screenshot(path=str(shot))
    shutil.copyfile(shot, SCREENS / "scenario-run.png")
    assert run_id > 0 and scenario_id != base_id


# --- the run page on hand-written results (no SUMO): time slider, difference, calibration, cancel ---------

SEGMENTS = 60  # segments with results in the first interval; half of them in the second
GEH = (2.0, 7.0, 12.0)  # one detector per class: green, amber, red


def _results(run: Any, segments: list[Any], flows: list[float]) -> None:
    from apps.jobs.models import Job, JobState
    from apps.simulation.models import RunState, ScenarioRun, SegmentResult

    seed_run = run.seed_runs.get()
    seed_run.kpis = {"vehicle_km": 1.0}
    seed_run.save()
    rows = []
    for i, (segment, flow) in enumerate(zip(segments, flows, strict=True)):
        for begin in (25200, 26100) if i % 2 == 0 else (25200,):
            rows.append(
                SegmentResult(
                    seed_run=seed_run,
                    segment_id=segment.pk,
                    interval_begin=begin,
                    interval_end=begin + 900,
                    entered=flow / 4,
                    flow_veh_h=flow,
                    speed_kmh=20 + i % 30,
                    travel_time_s=12,
                    waiting_time_s=i % 7,
                    sampled_seconds=100,
                )  # fmt: skip
            )
    SegmentResult.objects.bulk_create(rows)
    Job.objects.filter(seed_run__run=run).update(state=JobState.SUCCEEDED, progress=100)
    kpis = {"mean_travel_time_s": {"mean": 300.5, "ci95": 12.0}, "vehicle_km": {"mean": 1234.0, "ci95": None},
            "teleports": {"mean": 0, "ci95": None}}  # fmt: skip
    ScenarioRun.objects.filter(pk=run.pk).update(state=RunState.SUCCEEDED, kpis=kpis)


@pytest.fixture(scope="module")
def finished_runs(planner_login, django_db_blocker) -> Iterator[dict[str, Any]]:  # noqa: ANN001
    """A base and a variant (one road closed: no traffic there), each run with written results; the
    variant calibrated at three detectors; and a run left queued (to cancel). All committed, then removed."""
    from apps.accounts.models import User
    from apps.roads.models import RoadSegment
    from apps.sensors.models import Sensor
    from apps.simulation.models import CalibrationRow, ScenarioRun
    from apps.simulation.services import create_scenario, start_run

    window = {"network": "city", "begin": 25200, "end": 27000, "interval": 900, "seeds": [1],
              "demand": {"source": "random", "period": 2, "seed": 1}}  # fmt: skip
    with django_db_blocker.unblock():
        owner = User.objects.get(username=PLANNER[0])
        segments = list(
            RoadSegment.objects.filter(highway__in=["primary", "secondary", "tertiary"])
            .exclude(from_node=None)
            .exclude(to_node=None)
            .order_by("id")[:SEGMENTS]
        )
        closed = segments[0]
        base = create_scenario(document={"name": "Seeded base", **window}, owner=owner)
        variant = create_scenario(
            document={
                "name": "Seeded variant",
                **window,
                "base": base.pk,
                "edits": [{"type": "close_segment", "segment": closed.pk}],
            },  # fmt: skip
            owner=owner,
        )
        base_run = start_run(scenario=base, owner=owner, enqueue=False)
        _results(base_run, segments, [100.0 + i for i in range(SEGMENTS)])
        run = start_run(scenario=variant, owner=owner, enqueue=False)
        _results(run, segments[1:], [150.0 + i for i in range(SEGMENTS - 1)])
        sensors = []
        for i, geh in enumerate(GEH):
            segment = segments[10 + i]
            sensor = Sensor.objects.create(code=f"seeded-loop-{i}", kind="traffic", road_segment=segment,
                                           geom=segment.geom.interpolate_normalized(0.5), source="test",
                                           source_id=f"seeded-loop-{i}")  # fmt: skip
            sensors.append(sensor)
            CalibrationRow.objects.create(run=run, sensor=sensor, sensor_ids=[sensor.pk], segment_id=segment.pk,
                                          hour_begin=25200, observed=100, simulated=100 + geh * 10, geh=geh)  # fmt: skip
        ScenarioRun.objects.filter(pk=run.pk).update(calibration={"share_geh_below_5": 1 / 3, "r2": 0.52, "count": 3})
        waiting = start_run(scenario=base, owner=owner, enqueue=False)
    yield {
        "variant": variant.pk,
        "run": run.pk,
        "base_run": base_run.pk,
        "waiting": waiting.pk,
        "closed": closed.pk,
        "sensors": sensors,
    }
    with django_db_blocker.unblock():  # the runs and scenarios go with the planner (planner_login)
        Sensor.objects.filter(pk__in=[s.pk for s in sensors]).delete()


def _rendered_colours(pg: Page, layer: str) -> list[dict[str, Any]]:
    """Each rendered feature's property `geh` and its evaluated colour (0-255 RGB)."""
    script = f"""() => window.runMap.queryRenderedFeatures({{layers: ['{layer}']}}).map((f) => {{
        const c = f.layer.paint['circle-color'];
        return {{geh: f.properties.geh, rgb: [c.r, c.g, c.b].map((v) => Math.round(v * 255))}};
    }})"""
    return pg.evaluate(script)


@pytest.mark.browser
def test_run_page_shows_intervals_difference_kpis_and_calibration(  # noqa: ANN001
    page: Page,  # noqa: F811 - the shared fixture
    server_url: str,
    finished_runs,
) -> None:
    _log_in(page, server_url, f"/runs/{finished_runs['run']}/")
    page.wait_for_selector("#run-page[data-state=succeeded][data-features]")
    assert page.get_attribute("#run-page", "data-features") == str(SEGMENTS - 1)  # whole window
    assert page.locator("#run-cancel").is_hidden()
    kpis = page.inner_text("#run-kpis")
    assert "300.5 s" in kpis and "Mean travel time" in kpis and "± 12" in kpis and "1,234 km" in kpis

    # The time slider: the second interval has results on every other segment only.
    assert page.get_attribute("#res-time", "max") == "2"
    page.eval_on_selector(
        "#res-time",
        "(s) => { s.value = '2'; s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); }",
    )
    page.wait_for_selector("#run-page[data-interval='26100']")
    page.wait_for_function(
        f"() => document.getElementById('run-page').dataset.features === '{len(range(0, SEGMENTS - 1, 2))}'"
    )
    assert page.text_content("#res-time-label") == "07:15–07:30"
    page.select_option("#res-metric", "flow")
    assert "Flow (veh/h)" in page.inner_text("#res-legend")

    # The difference against the base's run, chosen by itself; absolute, then percent.
    page.wait_for_selector("#run-page[data-diff-features]")
    assert page.input_value("#diff-against") == str(finished_runs["base_run"])
    page.check("#view-difference")
    assert "Flow change (veh/h)" in page.inner_text("#res-legend")
    page.select_option("#diff-mode", "pct")
    assert "Flow change (%)" in page.inner_text("#res-legend")

    # Calibration: the three detectors in their GEH colours, the share and R2, a detector's numbers on click.
    page.wait_for_selector("#run-page[data-detectors='3']")
    summary = page.inner_text("#cal-summary")
    assert "33.3 %" in summary and "below the 85 % criterion" in summary and "0.52" in summary
    page.evaluate("() => window.runMap.fitBounds(window.runMap.getBounds(), {duration: 0})")
    page.wait_for_function("() => window.runMap.queryRenderedFeatures({layers: ['cal-points']}).length === 3")
    colours = {round(c["geh"]): tuple(c["rgb"]) for c in _rendered_colours(page, "cal-points")}
    assert colours == {2: (22, 163, 74), 7: (245, 158, 11), 12: (220, 38, 38)}  # green, amber, red
    sensor = finished_runs["sensors"][2]
    _click_road(page, "runMap", "#run-map", {"lon": sensor.geom.x, "lat": sensor.geom.y})
    page.wait_for_selector(".sc-popup[data-kind=cal-points]")
    popup = page.inner_text(".sc-popup")
    assert "seeded-loop-2" in popup and "obs 100" in popup and "sim 220" in popup and "GEH 12" in popup
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "scenario-run-seeded.png"))


@pytest.mark.browser
def test_a_queued_run_can_be_cancelled_from_its_page(  # noqa: ANN001
    page: Page,  # noqa: F811 - the shared fixture
    server_url: str,
    finished_runs,
) -> None:
    _log_in(page, server_url, f"/runs/{finished_runs['waiting']}/")
    page.wait_for_selector("#run-page[data-state=queued]")
    assert "Seed 1: queued 0 %" in page.inner_text("#run-seeds")
    page.click("#run-cancel")
    page.wait_for_selector("#run-page[data-state=cancelled]")
    assert page.locator("#run-cancel").is_hidden()
    assert page.locator("#res-box").is_hidden()  # no results for a cancelled run


@pytest.mark.browser
def test_the_list_shows_scenarios_with_their_runs_and_duplicates_one(  # noqa: ANN001
    page: Page,  # noqa: F811 - the shared fixture
    server_url: str,
    finished_runs,
) -> None:
    _log_in(page, server_url, "/scenarios/")
    page.wait_for_selector("#scenario-list[data-state=ready]")
    row = page.locator(f"#sc-rows tr[data-scenario='{finished_runs['variant']}']")
    cells = row.locator("td").all_inner_texts()
    assert cells[1:4] == ["v1", "city", "1"]  # version, network, edits
    assert f"#{finished_runs['run']} succeeded" in cells[4] and "run, locked" in cells[0]
    row.get_by_role("button", name="Duplicate").click()
    page.wait_for_url(re.compile(r"/scenarios/\d+/$"))
    page.wait_for_selector("#scenario-editor[data-state=ready]")
    assert page.get_attribute("#scenario-editor", "data-locked") == "0"  # the copy has no runs: editable
    assert "Close" in page.inner_text("#sc-edits")  # with the edits of the original

    # The run version opens read-only; "edit as new version" saves a version 2 beside it.
    page.goto(server_url + "/scenarios/")
    page.locator(f"#sc-rows tr[data-scenario='{finished_runs['variant']}']").get_by_role("link", name="Open").click()
    page.wait_for_selector("#scenario-editor[data-state=ready][data-readonly='1']")
    assert page.locator("#sc-name").is_disabled() and page.locator("#sc-save").is_hidden()
    page.click("#sc-unlock")
    page.fill("#sc-name", "Seeded variant, v2")
    page.click("#sc-save")
    page.wait_for_selector("#scenario-editor[data-state=saved]")
    assert "version 2" in page.inner_text("#sc-meta") and "new version" in page.inner_text("#sc-notice")
