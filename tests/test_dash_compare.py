"""The comparison board in Debian's headless Chromium against the real ASGI server (issue 11, point 1):
a planner compares a base run with a road-closure run (the base's busiest main road; two real SUMO runs of two seeds each, made by
run_scenario --inline, committed so that the server sees them), sees the KPI deltas with their 95 %
intervals and the difference map in absolute and percent terms, shares the state through the URL,
exports CSVs, with no CSP violation and no error in the console. The public board is opened anonymously."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from apps.accounts.models import Role
from apps.accounts.services import create_user
from tests.conftest import ROOT, database_url_for_tests
from tests.test_browser import browser  # noqa: F401 - the shared browser fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
PLANNER = ("dash-compare-planner", "a-long-test-password-11")
WINDOW = {"begin": 7 * 3600, "end": 7 * 3600 + 1200, "interval": 300}
DEMAND = {"source": "random", "period": 1.5, "seed": 7}
SHOTS = ROOT / "var"


def _run_inline(document: dict[str, Any], tmp: Path) -> int:
    path = tmp / f"{document['name'].replace(' ', '-')}.json"
    path.write_text(json.dumps(document))
    env = {**os.environ, "DATABASE_URL": database_url_for_tests(), "DJANGO_SETTINGS_MODULE": "city.settings.test",
           "CITYTWIN_DB_POOL": "0", "CITYTWIN_SCENARIO_RUNS_DIR": str(tmp / "runs")}  # fmt: skip
    done = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "manage.py", "run_scenario", str(path), "--inline", "--user", PLANNER[0]],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["state"] == "succeeded", summary
    return int(summary["run"])


@pytest.fixture(scope="module")
def two_runs(django_db_setup, django_db_blocker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:  # noqa: ANN001
    """A committed planner and two finished, committed runs: the base, and the busiest main road of the base
    closed."""
    from apps.jobs.models import Job
    from apps.simulation.models import PublishedComparison, Scenario, ScenarioRun
    from tests.test_scenario_runs import busiest_main_road

    tmp = tmp_path_factory.mktemp("dash-runs")
    with django_db_blocker.unblock():
        user = create_user(username=PLANNER[0], password=PLANNER[1], role=Role.PLANNER)
    common = {**WINDOW, "demand": DEMAND, "seeds": [1, 2], "energy": True}
    base = _run_inline({"name": "Dash base", **common, "edits": [{"type": "ev_share", "share": 0.3}]}, tmp)
    with django_db_blocker.unblock():
        road = busiest_main_road(ScenarioRun.objects.get(pk=base))  # a closure that moves traffic
    closed = _run_inline(
        {"name": f"Dash {road.name} closed", **common,
         "edits": [{"type": "ev_share", "share": 0.3}, {"type": "close_segment", "segment": road.pk}]},
        tmp,
    )  # fmt: skip
    yield {"base": base, "closed": closed, "road": road}
    with django_db_blocker.unblock():
        runs = ScenarioRun.objects.filter(owner=user)
        PublishedComparison.objects.filter(run__in=runs).delete()
        jobs = list(Job.objects.filter(seed_run__run__in=runs).values_list("pk", flat=True))
        runs.delete()
        Job.objects.filter(pk__in=jobs).delete()
        Scenario.objects.filter(owner=user).delete()
        user.delete()


@pytest.fixture
def watched(browser: Browser) -> Iterator[tuple[Page, list[str]]]:  # noqa: F811
    """A page whose console errors (CSP violations included) and page errors are collected."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    yield page, errors
    context.close()


def _csv(page: Page, button: str) -> list[dict[str, str]]:
    with page.expect_download(timeout=60_000) as info:
        page.click(button)
    text = Path(info.value.path()).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _plot(page: Page, graph: str) -> dict[str, Any]:
    """The figure Plotly drew in a dcc.Graph: its traces' type/name/line and its title."""
    return page.evaluate(
        """(id) => { const el = document.querySelector('#' + id + ' .js-plotly-plot');
             return {traces: el.data.map(t => ({type: t.type, name: t.name, width: t.line && t.line.width,
                                                color: t.line && t.line.color, n: (t.lon || t.x || []).length})),
                     title: el.layout.title && el.layout.title.text,
                     annotations: (el.layout.annotations || []).map(a => a.text)}; }""",
        graph,
    )


def test_a_planner_compares_a_closure_with_its_base(
    watched: tuple[Page, list[str]], server_url: str, two_runs: dict[str, Any]
) -> None:
    page, errors = watched
    a, b = two_runs["closed"], two_runs["base"]
    page.goto(f"{server_url}/dash/compare/?a={a}&b={b}&mode=abs")
    page.wait_for_url("**/accounts/login/**")  # anonymous: the login page first
    page.fill("input[name=username]", PLANNER[0])
    page.fill("input[name=password]", PLANNER[1])
    page.click("main button[type=submit]")
    page.wait_for_url("**/dash/compare/**")

    card = page.locator(".kpi-card[data-kpi=mean_travel_time_s]")
    card.wait_for(timeout=120_000)
    assert "95 % interval ±" in card.inner_text()  # two seeds each: an interval
    assert page.locator(".kpi-card").count() >= 6  # travel time, time loss, vehicle-km, CO2, NOx, PMx, ...
    closure = f"close {two_runs['road'].name} (segment {two_runs['road'].pk})"
    assert closure in page.inner_text("#changes-a") and closure in page.inner_text("#changes-between")
    assert page.inner_text("#changes-b").count("close") == 0

    page.wait_for_function(
        "() => document.querySelector('#diff-map .js-plotly-plot')?.data?.length > 0", timeout=60_000
    )
    absolute = _plot(page, "diff-map")
    assert "veh/h" in absolute["title"]
    assert {t["type"] for t in absolute["traces"]} == {"scattermap"}
    assert any("OpenStreetMap contributors" in (text or "") for text in absolute["annotations"])
    widths = {t["name"]: t["width"] for t in absolute["traces"]}
    small = [w for name, w in widths.items() if name.startswith("|change|")]
    assert small and all(w < max(widths.values()) for w in small)  # small changes drawn thin
    assert any(t["name"].startswith("−") for t in absolute["traces"])  # the closed road lost traffic
    page.wait_for_timeout(1500)  # let the map paint for the screenshot
    page.screenshot(path=str(SHOTS / "dash-compare.png"), full_page=True)

    page.click("text=percent of B")
    page.wait_for_function("() => location.search.includes('mode=pct')")
    page.wait_for_function(
        "() => (document.querySelector('#diff-map .js-plotly-plot')?.layout?.title?.text || '').includes('percent')"
    )
    percent = _plot(page, "diff-map")
    assert {t["type"] for t in percent["traces"]} == {"scattermap"} and percent["title"] != absolute["title"]
    assert any(t["name"].endswith("%") for t in percent["traces"])
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / "dash-compare-pct.png"), full_page=False)

    # the state is in the URL: a second page opened on it shows the same comparison
    shared = page.url
    assert f"a={a}" in shared and f"b={b}" in shared and "mode=pct" in shared
    other = page.context.new_page()
    other.goto(shared)
    other.locator(".kpi-card[data-kpi=mean_travel_time_s]").wait_for(timeout=60_000)
    assert other.inner_text(".kpi-card[data-kpi=mean_travel_time_s]") == card.inner_text()
    other.close()

    kpis = _csv(page, "#kpis-csv-button")
    by_kpi = {row["kpi"]: row for row in kpis}
    travel = by_kpi["mean_travel_time_s"]
    assert float(travel["delta"]) == pytest.approx(float(travel["a"]) - float(travel["b"]))
    assert float(travel["ci95"]) > 0
    streets = _csv(page, "#top-csv-button")
    assert 0 < len(streets) <= 20 and set(streets[0]) >= {"street", "change_veh_h", "change_pct"}
    sizes = [abs(float(row["change_pct"])) for row in streets]  # the map is in percent now: so is the ranking
    assert sizes == sorted(sizes, reverse=True)
    segments = _csv(page, "#diff-map-csv-button")
    closed_rows = [r for r in segments if int(r["segment"]) == two_runs["road"].pk]
    assert closed_rows and float(closed_rows[0]["flow_a"]) == 0 and float(closed_rows[0]["flow_b"]) > 0

    page.fill("#publish-title", "Closing Mannerheimintie for a street festival")
    page.click("#publish")
    page.wait_for_function("() => document.querySelector('#publish-result').innerText.includes('Published')")
    assert not errors, errors


def test_the_public_board_opens_to_anonymous_visitors(watched: tuple[Page, list[str]], server_url: str) -> None:
    page, errors = watched
    page.goto(f"{server_url}/dash/public/")
    page.wait_for_function("() => document.querySelector('#public-status')?.innerText.length > 0", timeout=60_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / "dash-public.png"), full_page=True)
    assert "CityTwin" in page.inner_text(".dash-header")
    assert not errors, errors
