"""The operators' live map (/live/): who may open it, and, in Debian's Chromium against the real ASGI
server, MQTT broker and ingest worker, that a reading published over MQTT changes the page without a
reload, that the chart loads under the strict CSP, that an alert is acknowledged, and that a lost
session shows "signed out"."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import Browser, Page

from apps.accounts.models import Role
from apps.accounts.services import create_user
from tests.test_browser import SCREENS, browser  # noqa: F401 - the shared browser fixture
from tests.test_live import publish

pytestmark = pytest.mark.django_db
OPERATOR = ("live-page-operator", "a-long-test-password-2")
NEW_PM25 = 37.5
PM25_MAX_RATE_PER_MIN = 300  # apps.telemetry.catalog: a bigger jump is quarantined as rate_of_change


# --- who may open the page ---------------------------------------------------------------------------


def _config(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="live-config" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the page carries its configuration as json_script"
    return json.loads(found.group(1))


def test_anonymous_visitors_are_sent_to_the_login(client) -> None:  # noqa: ANN001
    response = client.get("/live/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/") and "next=/live/" in response["Location"]


@pytest.mark.parametrize("role", [Role.PLANNER, Role.GIS_STAFF])
def test_other_roles_are_refused(client, role: Role) -> None:  # noqa: ANN001
    client.force_login(create_user(username=f"live-{role}-x", password="pw-for-tests-only", role=role))
    assert client.get("/live/").status_code == 403
    assert 'href="/live/"' not in client.get("/").content.decode()  # no nav link either


def test_operators_get_the_page_with_its_configuration(client, operator) -> None:  # noqa: ANN001
    client.force_login(operator)
    response = client.get("/live/")
    assert response.status_code == 200
    html = response.content.decode()
    config = _config(html)
    assert config["stale_after_s"] == 300
    assert config["headline"] == {"traffic": "mean_speed_kmh", "air_quality": "pm2_5", "energy": "active_power_kw"}
    pm25 = next(p for p in config["catalog"]["air_quality"] if p["name"] == "pm2_5")
    assert pm25 == {"name": "pm2_5", "label": "PM2.5", "unit": "µg/m³"}
    bounds = config["bounds"]
    assert 24.9 < bounds[0] < bounds[2] < 25.0 and 60.1 < bounds[1] < bounds[3] < 60.2
    assert "<script>" not in html  # the configuration is json_script, the code /static/ (CSP)
    assert not re.search(r"<[^>]+\son[a-z]+=", html), "no inline event handlers (CSP)"
    assert 'href="/live/" aria-current="page"' in html  # the nav link
    assert "csrftoken" in response.cookies  # the Acknowledge button needs it
    assert "© OpenStreetMap contributors" in html


def test_superusers_count_as_admins(client, django_user_model) -> None:  # noqa: ANN001
    admin = django_user_model.objects.create_superuser(username="live-root", password="pw-for-tests-only")
    client.force_login(admin)
    assert client.get("/live/").status_code == 200


# --- in the browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def operator_login(django_db_setup, django_db_blocker) -> Iterator[tuple[str, str]]:  # noqa: ANN001
    """A committed operator account (the server process must see it)."""
    from apps.accounts.models import User

    with django_db_blocker.unblock():
        create_user(username=OPERATOR[0], password=OPERATOR[1], role=Role.OPERATOR)
    yield OPERATOR
    with django_db_blocker.unblock():
        User.objects.filter(username=OPERATOR[0]).delete()


def _reading(code: str, when: datetime, values: dict[str, float]) -> Any:
    from apps.telemetry.ingest import IncomingReading

    return IncomingReading(
        source="http",
        sensor_code=code,
        payload={"sensor": code, "time": when.isoformat(), "values": values},
        received_at=datetime.now(UTC),
    )


@pytest.fixture(scope="module")
def city_feed(live_sensors, operator_login, django_db_blocker) -> Iterator[dict[str, Any]]:  # noqa: ANN001
    """A small committed city feed beside the shared live sensors, so the page has something to show:
    sensors of each kind on real streets and buildings with an hour of readings, one stale, one that
    never reported, and three open alerts (one already acknowledged)."""
    from django.contrib.gis.geos import Point

    from apps.accounts.models import User
    from apps.buildings.models import Building
    from apps.roads.models import RoadSegment
    from apps.sensors.models import Sensor
    from apps.streaming.publish import publish as stream_publish
    from apps.telemetry.ingest import fold_rollups, ingest
    from apps.telemetry.models import Alert, AlertEvent, AlertKind
    from apps.telemetry.selectors import alert_item
    from apps.telemetry.services import after_ingest
    from apps.telemetry.topics import ALERTS_GROUP

    now = datetime.now(UTC)
    with django_db_blocker.unblock():
        roads = list(
            RoadSegment.objects.filter(source="osm", highway__in=["primary", "secondary"])
            .exclude(name="")
            .order_by("id")[:400:80]
        )
        buildings = list(Building.objects.filter(source="osm").exclude(name="").order_by("id")[1:40:13])
        made: dict[str, Sensor] = {}

        def sensor(code: str, name: str, kind: str, geom: Point, **links: Any) -> Sensor:
            made[code] = Sensor.objects.create(
                code=code, name=name, kind=kind, geom=geom, source="test", source_id=code, **links
            )
            return made[code]

        for i, (segment, speed) in enumerate(zip(roads, (12.0, 27.0, 44.0, 58.0, 36.0), strict=False)):
            sensor(
                f"lp-traffic-{i}",
                f"{segment.name} loop {i + 1}",
                "traffic",
                segment.geom.interpolate_normalized(0.5),
                road_segment=segment,
            )
            made[f"lp-traffic-{i}"].speed = speed  # type: ignore[attr-defined]
        for i, (building, power) in enumerate(zip(buildings, (8.0, 64.0, 310.0), strict=False)):
            sensor(
                f"lp-energy-{i}",
                f"Meter, {building.name}",
                "energy",
                building.geom.point_on_surface,
                building=building,
            )
            made[f"lp-energy-{i}"].power = power  # type: ignore[attr-defined]
        sensor("lp-aq-0", "Kamppi air station", "air_quality", Point(24.9318, 60.1688, srid=4326))
        sensor("lp-aq-1", "Rautatientori air station", "air_quality", Point(24.9425, 60.1712, srid=4326))
        sensor("lp-aq-2", "Kaisaniemi air station", "air_quality", Point(24.9465, 60.1745, srid=4326))

        batch = []
        for minutes in range(60, 0, -1):
            at = now - timedelta(minutes=minutes - 1, seconds=2)  # the newest: 2 s ago
            wave = (60 - minutes) / 60
            for code, s in made.items():
                if code.startswith("lp-traffic"):
                    base = s.speed  # type: ignore[attr-defined]
                    if code == "lp-traffic-3" and minutes < 25:
                        continue  # this loop went quiet 25 minutes ago: stale
                    values = {
                        "mean_speed_kmh": max(3.0, base + 6 * ((minutes % 7) - 3) / 3),
                        "vehicle_count": float(8 + (minutes * 7) % 13),
                        "occupancy_pct": round(min(95.0, 2000 / (base + 5)), 1),
                    }
                elif code.startswith("lp-energy"):
                    values = {
                        "active_power_kw": s.power * (0.85 + 0.3 * wave),  # type: ignore[attr-defined]
                        "energy_kwh": s.power / 60,  # type: ignore[attr-defined]
                    }
                elif code == "lp-aq-0":
                    values = {"pm2_5": 5.0 + 3 * wave, "pm10": 11.0 + 4 * wave, "no2": 18.0, "temperature_c": 3.5}
                elif code == "lp-aq-1":
                    values = {"pm2_5": 14.0 + 8 * wave, "pm10": 27.0 + 9 * wave, "no2": 41.0, "temperature_c": 3.9}
                else:
                    continue  # lp-aq-2 has not reported yet
                batch.append(_reading(code, at, values))
            # The shared air-quality sensor gets a history too (the chart), older than any live reading.
            if minutes > 2:
                batch.append(_reading("live-aq-1", at, {"pm2_5": 9.0 + 6 * wave, "no2": 25.0 + 5 * wave}))
        # ingest() stores and commits without streaming (streamed below, once the alerts exist too).
        result = ingest(batch)
        assert not result.rejected, result.rejected[:3]
        fold_rollups(wait=True)  # the chart reads rollups: do not leave them to the worker's next fold

        operator = User.objects.get(username=operator_login[0])
        alerts = []
        for code, prop, value, message, kind, minutes_ago, acknowledged in (
            (
                "lp-traffic-0",
                "mean_speed_kmh",
                12.0,
                "Speed below 30 % of free flow: 12 km/h, below 30% of free flow (50 km/h) for 5 min",
                AlertKind.THRESHOLD,
                4,
                False,
            ),
            (
                "lp-aq-1",
                "pm2_5",
                27.5,
                "PM2.5 above 25 µg/m³: 27.5, above 25 for 15 min",
                AlertKind.THRESHOLD,
                18,
                True,
            ),
            (
                "lp-energy-2",
                "active_power_kw",
                372.0,
                "active_power_kw 372.0 is unusual for this hour (z = +3.4 against 14 days)",
                AlertKind.ANOMALY,
                41,
                False,
            ),
        ):
            started = now - timedelta(minutes=minutes_ago)
            alert = Alert.objects.create(
                kind=kind,
                sensor=made[code],
                property=prop,
                value=value,
                message=message,
                started_at=started,
                last_seen_at=now,
                acknowledged_by=operator if acknowledged else None,
                acknowledged_at=started + timedelta(minutes=3) if acknowledged else None,
            )
            AlertEvent.objects.create(alert=alert, at=started, action="opened", note=message)
            alerts.append(alert)
        # Stream what was stored, as the ingest worker and alert evaluation do after their commits: a server
        # keeps a topic's snapshot for sockets opening within snapshot_ttl_s of an earlier one (an earlier
        # test's) and keeps it current only with published batches.
        after_ingest(result)
        stream_publish(
            ALERTS_GROUP,
            "alerts",
            [alert_item(Alert.objects.select_related("sensor", "acknowledged_by").get(pk=a.pk)) for a in alerts],
        )
    yield {"sensors": made, "alerts": alerts}
    with django_db_blocker.unblock():
        ids = [s.pk for s in made.values()]
        Sensor.objects.filter(pk__in=ids).delete()  # cascades to latest values, rollups, alerts
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM telemetry_reading WHERE sensor_id = ANY(%s)", [ids])


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:  # noqa: F811 - the shared fixture
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    # Runs before the page's own scripts and outside its CSP: records every violation, reported or not.
    context.add_init_script(
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    pg = context.new_page()
    problems: list[str] = []
    pg.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    pg.on(
        "console",
        lambda msg: (
            problems.append(f"console {msg.type}: {msg.text}")
            if "Content Security Policy" in msg.text or "unsafe-eval" in msg.text or msg.type == "error"
            else None
        ),
    )
    pg.problems = problems  # type: ignore[attr-defined]
    yield pg
    context.close()


def _wait_for_rate_limit(code: str, value: float) -> None:
    """The quality gate quarantines an impossible jump from the previous value: leave enough time since it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.time, l.value FROM telemetry_latest l JOIN sensors_sensor s ON s.id = l.sensor_id "
            "WHERE s.code = %s AND l.property = 'pm2_5'",
            [code],
        )
        row = cursor.fetchone()
    if row is None:
        return
    needed_s = abs(value - row[1]) / PM25_MAX_RATE_PER_MIN * 60 + 1
    elapsed = (datetime.now(UTC) - row[0]).total_seconds()
    if elapsed < needed_s:
        time.sleep(needed_s - elapsed)


def test_live_map_streams_a_published_reading_into_the_page(  # noqa: PLR0915 - one scenario, step by step
    page: Page, server_url: str, live_sensors, ingest_worker, city_feed, operator_login
) -> None:  # noqa: ANN001
    code = live_sensors["air_quality"].code
    username, password = operator_login

    # Sign in through the form; the login sends the operator back to /live/.
    page.goto(server_url + "/live/")
    page.wait_for_url("**/accounts/login/**")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url("**/live/")
    page.wait_for_selector("body[data-live-ready='1']", timeout=30000)
    assert page.inner_text("#live-status") == "Live"
    assert "OpenStreetMap contributors" in page.inner_text(".maplibregl-ctrl-attrib")

    # Every reporting sensor is listed with its headline value; stale and silent ones say so.
    value = page.locator(f"[data-sensor='{code}'] .value")
    before = value.inner_text()
    assert "µg/m³" in before and not before.startswith(str(NEW_PM25)), before
    page.wait_for_selector("[data-sensor='lp-traffic-3'].is-stale")
    assert "stale" in page.inner_text("[data-sensor='lp-traffic-3'] .age")
    assert page.inner_text("[data-sensor='lp-aq-2'] .value") == "no data"
    assert re.fullmatch(r"(just now|\d+ s ago)", page.inner_text("[data-sensor='lp-traffic-1'] .age"))
    assert page.locator("#live-alert-list > li").count() == 3
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(1000)  # tiles
    page.screenshot(path=str(SCREENS / "live-overview.png"))

    # A reading over MQTT reaches the page without a reload.
    _wait_for_rate_limit(code, NEW_PM25)
    when = datetime.now(UTC).isoformat()  # microseconds: no other test stores this sensor and time
    publish(code, {"time": when, "values": {"pm2_5": NEW_PM25, "no2": 31.0}})
    page.wait_for_function(
        "([code, v]) => { const e = document.querySelector(`[data-sensor='${code}'] .value`);"
        " return e && e.textContent.startsWith(v); }",
        arg=[code, str(NEW_PM25)],
        timeout=10000,
    )
    assert value.inner_text() == "37.5\u00a0µg/m³"
    state = page.evaluate("(code) => window.liveState.sensors[code]", code)
    assert state["values"]["pm2_5"] == NEW_PM25
    assert datetime.fromisoformat(state["time"]) == datetime.fromisoformat(when)
    feature = page.evaluate(
        """async (code) => {
            const data = await window.liveMap.getSource('sensors').getData();
            return data.features.find((f) => f.properties.code === code);
        }""",
        code,
    )
    assert feature["properties"]["value"] == NEW_PM25
    assert feature["properties"]["colour"] == "#f97316"  # 25-50 µg/m³: orange
    assert feature["properties"]["current"] is True
    page.wait_for_function(
        "(code) => window.liveMap.queryRenderedFeatures({layers: ['sensors']})"
        ".some((f) => f.properties.code === code && f.properties.value === 37.5)",
        arg=code,
        timeout=10000,
    )

    # Selecting the sensor opens the popup and the detail panel with the last hour's chart (Plotly).
    page.click(f"[data-sensor='{code}'] button")
    page.wait_for_selector("#live-detail:not([hidden])")
    page.wait_for_function(
        "() => { const d = document.getElementById('live-chart'); return d.data && d.data.length > 0; }",
        timeout=30000,
    )
    traces = page.evaluate("document.getElementById('live-chart').data.map((t) => t.name)")
    assert traces[0] == "PM2.5 (µg/m³)" and "NO₂ (µg/m³)" in traces
    assert page.evaluate("document.getElementById('live-chart').data[0].x.length") >= 30
    popup = page.inner_text(".live-popup")
    assert "37.5" in popup and "Reading at" in popup and "Live" in popup
    assert "37.5" in page.inner_text("#live-detail-values")

    # Alerts: newest first; acknowledging one updates it from the stream.
    first = page.locator("#live-alert-list > li").first
    assert "Speed below 30 % of free flow" in first.inner_text()
    page.wait_for_timeout(1500)  # let the map settle after the fly-to
    page.screenshot(path=str(SCREENS / "live.png"))

    alert_id = city_feed["alerts"][0].pk
    first.locator("button.live-ack-button").click()
    page.wait_for_function(
        "([id, user]) => { const e = document.querySelector(`#live-alert-list > li[data-alert-id='${id}'] .live-alert-ack-by`);"
        " return e && e.textContent === user; }",
        arg=[alert_id, username],
        timeout=10000,
    )
    page.wait_for_function("() => window.livePage.seq.a >= 1")  # ... and the stream carried the change
    assert page.locator("#live-alert-list button.live-ack-button").count() == 1  # the anomaly is still open
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.username FROM telemetry_alert a JOIN accounts_user u ON u.id = a.acknowledged_by_id WHERE a.id = %s",
            [alert_id],
        )
        assert cursor.fetchone() == (username,)

    # Clicking an alert flies to its sensor.
    page.locator("#live-alert-list > li", has_text="unusual for this hour").click()
    page.wait_for_function("() => document.getElementById('live-detail-sub').textContent.includes('lp-energy-2')")

    # A gap in an update's seq (this connection lost a message): the page asks for a fresh snapshot.
    snapshots, resyncs = page.evaluate("[window.livePage.stats.snapshots, window.livePage.stats.resyncs]")
    page.evaluate(
        "() => { const p = window.livePage; p.onMessage({type: 'update', id: 'r', seq: p.seq.r + 2, items: []}); }"
    )
    page.wait_for_function(
        "(n) => { const p = window.livePage; return p.stats.snapshots > n && p.seq.r === 0 && !p.awaitingSnapshot.r; }",
        arg=snapshots,
    )
    assert page.evaluate("window.livePage.stats.resyncs") == resyncs + 1
    assert value.inner_text() == "37.5\u00a0µg/m³"  # the snapshot holds the same state

    # Switching a kind off hides its sensors on the map and in the list.
    page.uncheck("#live-kinds input[value=energy]")
    assert page.is_hidden("section.live-group[data-kind=energy]")
    assert "energy" not in page.evaluate("JSON.stringify(window.liveMap.getFilter('sensors'))")
    page.check("#live-kinds input[value=energy]")

    # The session ends: the socket is refused on reconnect (4401) and the page says so.
    page.context.clear_cookies()
    page.evaluate("window.livePage.socket.close()")
    page.wait_for_selector("#live-status[data-state='signed-out']", timeout=15000)
    assert page.is_visible("#live-signed-out a[href='/accounts/login/?next=/live/']")

    assert page.evaluate("window.__cspViolations") == []  # Plotly included: it needs no 'unsafe-eval'
    problems = page.problems  # type: ignore[attr-defined]
    assert not problems, problems
