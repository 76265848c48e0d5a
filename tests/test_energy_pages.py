"""The energy side of a run's page (issue 10) in Debian's headless Chromium against the real ASGI server: a
planner opens a finished energy run (a real short SUMO run, 30 % electric cars and a fast charger), sees
the energy KPIs and the grid's note, turns on the energy layers (emissions per segment, charging
stations, substations with their service areas), clicks a charger and a substation, and reads the
substation's loading chart. A run without energy shows none of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from apps.accounts.models import Role
from apps.accounts.services import create_user
from tests.test_browser import browser, page  # noqa: F401 - the browser fixtures, shared

pytestmark = pytest.mark.django_db
PLANNER = ("energy-page-planner", "a-long-test-password-10")
ROOT = Path(__file__).resolve().parent.parent
SHOT = ROOT / "var" / "energy-run.png"
WINDOW = {"network": "city", "begin": 8 * 3600, "end": 8 * 3600 + 1200, "interval": 600, "day": "2026-11-24",
          "seeds": [1], "demand": {"source": "random", "period": 1.5, "seed": 11},
          "fleet": {"petrol": 0.7, "diesel": 0.3, "electric": 0.0}}  # fmt: skip


def _simulate(run_id: int) -> None:
    """The run's seeds through the job service in this process, as `run_scenario --inline` does."""
    from apps.jobs.services import execute
    from apps.simulation.jobs import run_seed
    from apps.simulation.models import ScenarioRun
    from apps.simulation.services import settle_run

    for seed_run in ScenarioRun.objects.get(pk=run_id).seed_runs.order_by("seed"):
        execute(seed_run.job_id, run_seed)
        settle_run(run_id)


@pytest.fixture(scope="module")
def energy_runs(django_db_setup, django_db_blocker) -> Iterator[dict[str, Any]]:  # noqa: ANN001
    """A committed planner, a real finished energy run (20 minutes, one seed, 30 % electric, a 150 kW
    charger on a main road) and a finished run without energy; all removed at the end."""
    from apps.jobs.models import Job
    from apps.roads.models import RoadSegment
    from apps.simulation.models import GridSubstation, RunState, Scenario, ScenarioRun
    from apps.simulation.services import create_scenario, start_run

    with django_db_blocker.unblock():
        user = create_user(username=PLANNER[0], password=PLANNER[1], role=Role.PLANNER)
        segment = RoadSegment.objects.filter(highway__in=["primary", "secondary"]).order_by("id").first()
        assert segment is not None
        edits = [
            {"type": "ev_share", "share": 0.3},
            {"type": "add_charging_station", "segment": segment.pk, "position_m": 5, "power_kw": 150, "points": 6},
        ]
        scenario = create_scenario(
            document={"name": "Energy page", **WINDOW, "edits": edits, "charging": {"threshold": 0.5, "search_radius_m": 2000}},
            owner=user,
        )  # fmt: skip
        run = start_run(scenario=scenario, owner=user, enqueue=False)
        _simulate(run.pk)
        run.refresh_from_db()
        assert run.state == RunState.SUCCEEDED, run.error
        assert run.grid and "error" not in run.grid, run.grid  # apps.energy's grid model, computed for the run
        plain = create_scenario(document={"name": "Traffic only", **WINDOW, "energy": False}, owner=user)
        traffic = start_run(scenario=plain, owner=user, enqueue=False)
        kpis = {"mean_travel_time_s": {"mean": 200.0, "ci95": None}}
        ScenarioRun.objects.filter(pk=traffic.pk).update(state=RunState.SUCCEEDED, kpis=kpis)
        top = GridSubstation.objects.filter(run=run).order_by("-peak_loading_pct", "key").first()
        assert top is not None
        yield {"run": run, "traffic": traffic.pk, "top": top}
        runs = ScenarioRun.objects.filter(scenario__owner=user)
        jobs = list(Job.objects.filter(seed_run__run__in=runs).values_list("pk", flat=True))
        runs.delete()
        Job.objects.filter(pk__in=jobs).delete()
        Scenario.objects.filter(owner=user).delete()
        user.delete()


def _log_in(pg: Page, server_url: str, next_url: str) -> None:
    pg.goto(server_url + next_url)
    pg.fill("input[name=username]", PLANNER[0])
    pg.fill("input[name=password]", PLANNER[1])
    pg.click("main button[type=submit]")
    pg.wait_for_url(f"**{next_url}")


def _click_at(pg: Page, lon: float, lat: float) -> None:
    """Click the run map where (lon, lat) is drawn now, as a person would."""
    point = pg.evaluate(
        "([lon, lat]) => { const p = window.runMap.project([lon, lat]); return [p.x, p.y]; }", [lon, lat]
    )
    box = pg.locator("#run-map").bounding_box()
    assert box is not None
    pg.mouse.click(box["x"] + point[0], box["y"] + point[1])


def _rendered(pg: Page, layer: str) -> int:
    return pg.evaluate(f"() => window.runMap.queryRenderedFeatures({{layers: ['{layer}']}}).length")


def _wait_rendered(pg: Page, layer: str, predicate: str) -> int:
    """Wait until the count of the layer's rendered features satisfies `predicate` (a JS expression of n):
    a visibility change shows on the next frame, not at once."""
    pg.wait_for_function(
        f"() => {{ const n = window.runMap.queryRenderedFeatures({{layers: ['{layer}']}}).length; return {predicate}; }}"
    )
    return _rendered(pg, layer)


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_planner_reads_a_runs_emissions_chargers_and_substation_loading(  # noqa: ANN001
    page: Page,  # noqa: F811 - the shared fixture
    server_url: str,
    energy_runs,
) -> None:
    run = energy_runs["run"]
    top = energy_runs["top"]
    page.set_viewport_size({"width": 1440, "height": 1000})
    _log_in(page, server_url, f"/runs/{run.pk}/")
    page.wait_for_selector("#run-page[data-state=succeeded][data-features][data-substations][data-chargers]")

    # The energy KPIs as cards, each the run's own figure.
    cards = page.locator("#run-energy-kpis .sc-kpi")
    assert cards.count() == 7
    co2 = page.inner_text("#run-energy-kpis [data-kpi='CO₂'] .sc-kpi-value")
    assert co2 == f"{run.kpis['co2_kg']['mean']:,.1f} kg".replace(".0 kg", " kg")
    peak = page.inner_text("#run-energy-kpis [data-kpi='Peak substation loading'] .sc-kpi-value")
    assert peak == f"{run.kpis['peak_substation_loading_pct']['mean']:,.1f} %".replace(".0 %", " %")
    assert "Co2 kg" not in page.text_content("#run-kpis-table")  # a card, not repeated in "All figures"

    # The grid's note, said on the page: the demo city has no power data, so its substations are synthetic.
    assert run.grid["synthetic"] > 0
    assert page.locator("#grid-note").is_visible()
    assert page.inner_text("#grid-note") == run.grid["note"]
    substations = run.substations.count()
    assert page.get_attribute("#run-page", "data-substations") == str(substations)
    assert page.get_attribute("#run-page", "data-chargers") == str(run.charging_stations.count())

    # The three energy layers, on.
    page.check("#en-emissions")
    page.check("#en-chargers")
    page.check("#en-substations")
    assert page.get_attribute("#run-page", "data-energy-layers") == "emissions chargers substations"
    page.evaluate(f"() => window.runMap.jumpTo({{center: [{top.geom.x}, {top.geom.y}], zoom: 13.2}})")
    page.wait_for_function("() => window.runMap.loaded() && window.runMap.areTilesLoaded()")
    assert _wait_rendered(page, "en-emissions", "n > 50") > 50
    assert _wait_rendered(page, "en-substations", "n >= 1") >= 1 and _wait_rendered(page, "en-areas", "n >= 1") >= 1
    colours = page.evaluate(
        """() => new Set(window.runMap.queryRenderedFeatures({layers: ['en-emissions']})
               .map((f) => JSON.stringify(f.layer.paint['line-color']))).size"""
    )
    assert colours > 5  # a ramp, not one colour
    legend = page.inner_text("#en-legend")
    assert "CO₂ (g) per segment" in legend and "Substation peak loading" in legend and "Charging station" in legend

    # A charger's popup: its name, power, points, energy and cars.
    charger = run.charging_stations.get(key="edit-1")
    page.evaluate(f"() => window.runMap.jumpTo({{center: [{charger.geom.x}, {charger.geom.y}], zoom: 16}})")
    page.wait_for_function("() => window.runMap.loaded() && window.runMap.areTilesLoaded()")
    _click_at(page, charger.geom.x, charger.geom.y)
    page.wait_for_selector(".sc-popup[data-kind=en-chargers]")
    popup = page.inner_text(".sc-popup[data-kind=en-chargers]")
    assert "150 kW × 6 points" in popup and "kWh" in popup and "Cars charged" in popup

    # The busiest substation: its panel with its figures and its loading chart (Plotly, with traces).
    page.evaluate(f"() => window.runMap.jumpTo({{center: [{top.geom.x}, {top.geom.y}], zoom: 13.2}})")
    page.wait_for_function("() => window.runMap.loaded() && window.runMap.areTilesLoaded()")
    _click_at(page, top.geom.x, top.geom.y)
    page.wait_for_selector(f"#sub-panel[data-substation='{top.key}'][data-chart=ready]")
    assert page.locator(".sc-popup[data-kind=res-lines]").count() == 0  # the substation took the click
    panel = page.inner_text("#sub-panel")
    assert (top.name or top.key) in panel
    assert f"{top.peak_loading_pct:,.1f} %".replace(".0 %", " %") in panel and "Above 100 %" in panel
    assert page.locator("#sub-chart.js-plotly-plot .scatterlayer .trace").count() == 4  # 3 stacked kW + loading
    assert "Loading" in (page.text_content("#sub-chart .legend") or "")

    page.evaluate("() => { document.querySelector('.sc-panel').scrollTop = 0; }")
    page.evaluate(f"() => window.runMap.jumpTo({{center: [{top.geom.x}, {top.geom.y}], zoom: 13.6}})")
    page.wait_for_function("() => window.runMap.loaded() && window.runMap.areTilesLoaded()")
    SHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOT))

    # Closing the panel, turning the substations off.
    page.click("#sub-close")
    assert page.locator("#sub-panel").is_hidden()
    page.uncheck("#en-substations")
    assert _wait_rendered(page, "en-substations", "n === 0") == 0


@pytest.mark.browser
def test_a_run_without_energy_shows_no_energy(  # noqa: ANN001
    page: Page,  # noqa: F811 - the shared fixture
    server_url: str,
    energy_runs,
) -> None:
    _log_in(page, server_url, f"/runs/{energy_runs['traffic']}/")
    page.wait_for_selector("#run-page[data-state=succeeded]")
    page.wait_for_selector("#run-kpis .sc-kpi")
    assert page.locator("#run-energy-box").is_hidden()
    assert page.locator("#energy-box").is_hidden()
    assert page.get_attribute("#run-page", "data-substations") is None
