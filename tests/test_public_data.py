"""The public outputs with real history behind them: `create_demo_sensors --history` writes the demo city's
past hours once (what `make run` does, so the hourly views show something on day one); then an anonymous
visitor reads them on the public Dash board and on the portal, through the privacy module only: energy
cells are shown or withheld, never per meter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from playwright.sync_api import Browser, Page

from tests.test_browser import browser  # noqa: F401 - the shared browser fixture
from tests.test_dash_compare import watched  # noqa: F401 - the page fixture that collects console errors

pytestmark = [pytest.mark.django_db, pytest.mark.browser]
PREFIX = "pubd"
HOURS = 6


@pytest.fixture(scope="module")
def history(sumo_network, django_db_blocker) -> Iterator[dict[str, Any]]:  # noqa: ANN001
    """Committed demo sensors under a prefix of their own, with HOURS hours of history from the command."""
    from django.db import connection

    from apps.demo_feed.sensors import create_demo_sensors
    from apps.sensors.models import Sensor
    from apps.telemetry.models import Reading

    with django_db_blocker.unblock():
        sensors = create_demo_sensors(network=sumo_network, prefix=PREFIX).sensors
        ids = [s.id for s in sensors]
        call_command("create_demo_sensors", prefix=PREFIX, history=HOURS, verbosity=0)
        written = Reading.objects.filter(sensor_id__in=ids).count()
        call_command("create_demo_sensors", prefix=PREFIX, history=HOURS, verbosity=0)  # once only
        again = Reading.objects.filter(sensor_id__in=ids).count()
        cache.clear()
    yield {"sensors": sensors, "written": written, "again": again}
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            for table in ("telemetry_reading", "telemetry_rollup", "telemetry_latest"):
                cursor.execute(f"DELETE FROM {table} WHERE sensor_id = ANY(%s)", [ids])  # noqa: S608 - constant names
        Sensor.objects.filter(id__in=ids).delete()
        cache.clear()


def test_demo_history_is_written_once(history) -> None:  # noqa: ANN001
    meters = [s for s in history["sensors"] if s.kind == "energy"]
    assert len(meters) > 100  # enough meters for districts to pass k
    # readings every 15 min for every sensor over HOURS hours, a few left out on purpose
    assert history["written"] > 0.9 * len(history["sensors"]) * HOURS * 4
    assert history["again"] == history["written"]


def _status(page: Page) -> str:
    return page.inner_text("#public-status")


def test_an_anonymous_visitor_reads_the_public_board_with_data(
    history,  # noqa: ANN001
    watched: tuple[Page, list[str]],  # noqa: F811
    server_url: str,
) -> None:
    page, errors = watched
    page.goto(f"{server_url}/dash/public/")
    page.wait_for_function("() => /^[1-9]\\d* hours/.test(document.querySelector('#public-status')?.innerText || '')")
    assert "0 suppressed" in _status(page)  # traffic sensors are public one by one: nothing withheld
    page.wait_for_selector("#public-map .js-plotly-plot .main-svg")
    # energy: personal data, through the k-threshold
    page.click("#dataset")
    page.click("text=Energy")
    page.wait_for_function("() => (document.querySelector('#public-status')?.innerText || '').includes('suppressed')"
                           " && document.querySelector('#licence')?.innerText.includes('at least 10')")  # fmt: skip
    status = _status(page)
    hours = int(status.split(" hours")[0])
    assert 1 <= hours <= HOURS
    page.wait_for_timeout(500)
    body = page.content()
    assert not any(s.code in body for s in history["sensors"])  # no meter, loop or station by code
    assert not errors, errors


def test_the_portal_shows_district_conditions_through_the_privacy_module(
    history,  # noqa: ANN001
    browser: Browser,  # noqa: F811 - the shared fixture
    server_url: str,
) -> None:
    page = browser.new_page()
    page.goto(server_url + "/")
    assert page.get_attribute("#districts", "data-privacy") == "present"
    energy = page.locator("table.district-table[data-dataset='energy'] tbody tr[data-cell]")
    traffic = page.locator("table.district-table[data-dataset='traffic'] tbody tr[data-cell]")
    assert energy.count() >= 1 and traffic.count() >= 1
    shown = page.locator("table.district-table[data-dataset='energy'] .district-value").count()
    withheld = page.locator("table.district-table[data-dataset='energy'] td:has-text('withheld')").count()
    assert shown + withheld == energy.count() and shown >= 1
    assert not any(s.code in page.content() for s in history["sensors"] if s.kind == "energy")
    page.close()
