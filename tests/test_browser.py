"""The map and the upload page in Debian's headless Chromium (Playwright, never a downloaded browser),
against the real ASGI server on the test database."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from apps.accounts.models import Role
from apps.accounts.services import create_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db]  # the mark makes pytest-django create the test database
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENS = Path(__file__).resolve().parent.parent / "var" / "screens"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian chromium is missing: bin/setup installs it"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    yield pg
    context.close()
    assert not errors, errors


def test_map_renders_the_3d_city_and_popups_show_attributes(page: Page, server_url: str) -> None:
    page.goto(server_url + "/map/")
    page.wait_for_selector("body[data-map-ready='1']", timeout=60000)
    rendered = page.evaluate("window.cityMap.queryRenderedFeatures({layers: ['buildings-3d']}).length")
    assert rendered > 100
    assert page.evaluate("window.cityMap.getPitch()") > 30  # tilted, so extrusions read as 3D
    assert (
        page.evaluate(
            "window.cityMap.queryRenderedFeatures({layers: ['roads-major', 'roads-medium', 'roads-minor']}).length"
        )
        > 50
    )
    assert "OpenStreetMap contributors" in page.inner_text(".maplibregl-ctrl-attrib")
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "map.png"))

    # Click the tallest rendered building: the popup lists its height.
    point = page.evaluate(
        """() => {
            const m = window.cityMap;
            const fs = m.queryRenderedFeatures({layers: ['buildings-3d']});
            fs.sort((a, b) => b.properties.height_m - a.properties.height_m);
            const c = fs[0].geometry.type === 'Polygon' ? fs[0].geometry.coordinates[0][0] : fs[0].geometry.coordinates[0][0][0];
            const p = m.project(c);
            return {x: p.x, y: p.y, h: fs[0].properties.height_m};
        }"""
    )
    page.mouse.click(point["x"] + 2, point["y"] + 2)
    page.wait_for_selector(".feature-popup", timeout=10000)
    assert "Height" in page.inner_text(".feature-popup")

    # The layer switcher hides the buildings.
    page.uncheck(".layer-switcher input[value=buildings]")
    assert page.evaluate("window.cityMap.getLayoutProperty('buildings-3d', 'visibility')") == "none"


@pytest.fixture(scope="module")
def gis_login(django_db_setup, django_db_blocker) -> Iterator[tuple[str, str]]:  # noqa: ANN001
    """A committed account (outside any test transaction) so that the server process sees it."""
    from apps.accounts.models import User

    with django_db_blocker.unblock():
        create_user(username="browser-gis", password="a-long-test-password-1", role=Role.GIS_STAFF)
    yield "browser-gis", "a-long-test-password-1"
    with django_db_blocker.unblock():
        User.objects.filter(username="browser-gis").delete()


def test_gis_staff_uploads_a_file_watches_its_job_and_reads_the_report(  # noqa: ANN001
    page: Page, server_url: str, samples: Path, gis_login, job_worker
) -> None:
    """The whole path with real parts: the page, the upload, the job queued to the real Celery worker, its
    progress streamed on the `jobs` topic of the websocket, and the report at the end."""
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    username, password = gis_login
    page.goto(server_url + "/imports/upload/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url("**/imports/upload/")
    page.set_input_files("input[name=file]", str(samples / "invalid_polygons.geojson"))
    page.check("input[name=dry_run]")
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r"/jobs/\d+/$"), timeout=30000)
    assert "Loading invalid_polygons.geojson" in page.inner_text("h1")
    page.wait_for_url(re.compile(r"/imports/\d+/$"), timeout=60000)  # the job page moves on by itself
    assert "dry run" in page.inner_text("#import-state").lower()
    issues = page.inner_text("#import-issues")
    assert "Self-intersection" in issues and "cannot be repaired" in issues
    page.screenshot(path=str(SCREENS / "import-report.png"), full_page=True)
    jobs = [json.loads(f) for f in frames if '"jobs"' in f or '"state"' in f]
    states = [item["state"] for message in jobs for item in message.get("items", [])]
    assert "succeeded" in states, frames[:10]  # the end came over the socket, not only by polling
