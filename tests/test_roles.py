"""One role matrix for everything (issue 11): every URL pattern (walked from the resolver) and method, every
websocket topic (the streaming registry), every tile layer, every open-data download and every Dash board,
as every role (anonymous, planner, operator, gis_staff, admin, ingest, device), against ONE expected table
(tests/roles_expected.py). Something without a row fails, naming itself. HTTP goes through Django's test
client, each request in a savepoint that is rolled back (a DELETE as admin does not change what the next
request finds); websockets and Dash boards through the real server. Also: role changes, deactivation and
logout take effect on open websockets."""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import websockets
from django.contrib.gis.geos import Point
from django.db import transaction
from django.test import Client

from apps.accounts.models import Role, User
from apps.accounts.services import create_user
from apps.portal.downloads import DOWNLOADS
from apps.portal.selectors import privacy_module
from apps.streaming.topics import TOPICS
from apps.tiles.layers import LAYERS
from tests import roles_expected as table
from tests.conftest import ROOT
from tests.portal_world import make_world
from tests.role_matrix import ADMIN_METHODS, METHODS, ROLES, TILE, Route, cell, expected, outcome, routes, row_for
from tests.test_live import headers, run_async, ws_url

pytestmark = pytest.mark.django_db
CELLS_FILE = ROOT / "var" / "role-matrix-cells.json"


# --- every route, topic, layer, download and board has a row ---------------------------------------------
def test_every_route_topic_layer_download_and_board_has_a_row() -> None:
    missing = [f"URL pattern {r.key!r} ({r.name})" for r in routes() if row_for(r.row, table.HTTP) is None]
    missing += [f"websocket topic {name!r}" for name in TOPICS if name not in table.TOPICS]
    missing += [f"tile layer {name!r}" for name in LAYERS if name not in table.TILE_LAYERS]
    missing += [f"download {d.url!r}" for d in DOWNLOADS if d.url not in table.DOWNLOADS]
    assert not missing, "no row in tests/roles_expected.py for:\n" + "\n".join(missing)
    # ... and no row for something that no longer exists (except the rows waiting for a merge)
    keys = {r.row for r in routes()}
    stale = [row for row in table.HTTP if "*" not in row and row not in keys]
    assert not stale, f"rows for URL patterns that do not exist: {stale}"


# --- HTTP ----------------------------------------------------------------------------------------------------
@pytest.fixture
def objects(db) -> dict[str, Any]:  # noqa: ANN001
    """One object behind every kind of path parameter."""
    from apps.imports.models import ImportRun
    from apps.jobs.models import Job
    from apps.sensors.models import Sensor
    from apps.telemetry.models import Alert, QuarantinedReading

    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    sensor = Sensor.objects.create(code="roles-device-1", kind="air_quality", geom=Point(24.945, 60.169, srid=4326),
                                   source="test", source_id="roles-device-1")  # fmt: skip
    alert = Alert.objects.create(kind="threshold", sensor=sensor, property="pm2_5", value=80.0, message="PM2.5 above 50",
                                 started_at=now, last_seen_at=now)  # fmt: skip
    quarantined = QuarantinedReading.objects.create(received_at=now, source="http", sensor_code="x", reason="malformed",
                                                    detail="test", payload="{")  # fmt: skip
    world = make_world("roles")
    run = world["runs"][1]
    job = Job.objects.create(kind="import", owner=world["planner"])
    return {
        "sensor": sensor.code, "alerts": alert.pk, "quarantine": quarantined.pk, "jobs": job.pk,
        "scenarios": run.scenario_id, "runs": run.pk, "published": world["published"].pk,
        "imports": ImportRun.objects.order_by("pk").values_list("pk", flat=True).first(),
    }  # fmt: skip


def _first_pk(app_label: str, model: str) -> str:
    from django.apps import apps

    pk = apps.get_model(app_label, model).objects.order_by("pk").values_list("pk", flat=True).first()
    return "0" if pk is None else str(pk)


def concrete(route: Route, objects: dict[str, Any], layer: str = "buildings") -> str:
    """A URL of the route with real objects behind its parameters."""
    from apps.assets.models import UtilityAsset
    from apps.buildings.models import Building
    from apps.districts.models import District
    from apps.roads.models import RoadNode, RoadSegment

    parts = route.key.split("/")
    firsts = {"buildings": Building.objects, "road-segments": RoadSegment.objects, "road-nodes": RoadNode.objects,
              "districts": District.objects, "utility-assets": UtilityAsset.objects.filter(kind="street_lamp")}  # fmt: skip
    values: dict[str, str] = {
        "format": "json",
        "code": objects["sensor"],
        "run": str(objects["runs"]),
        "layer": layer,
        "dataset": "traffic",
        "partition": "district",
        "app_label": "buildings",
        "url": "no-such-page/",
        # OGC API: a collection whose items depend on the role, its one substation, the tiles over Helsinki
        "collection_id": "utility-assets",
        "feature_id": str(UtilityAsset.objects.filter(kind="substation").values_list("pk", flat=True).first()),
        "tms": "WebMercatorQuad",
        "z": "14",
        "row": "4739",
        "col": "9326",
        "resource": "Things",  # the SensorThings resource path
    }  # fmt: skip  (url: the admin's catch-all)
    url = "api/.json" if route.key == "api/<format>" else route.key  # the router root's suffix converter
    if url.startswith("tiles/"):
        url = url.replace("<z>/<x>/<y>", TILE)
    if "<pk>" in url:
        collection = parts[1] if parts[0] == "api" else parts[0]
        if collection in firsts:
            values["pk"] = str(firsts[collection].order_by("pk").values_list("pk", flat=True).first())
        elif collection == "public":
            values["pk"] = str(objects["published"])
        else:
            values["pk"] = str(objects[{"scenarios": "scenarios", "runs": "runs", "jobs": "jobs", "imports": "imports",
                                        "published": "published", "alerts": "alerts", "quarantine": "quarantine"}[collection]])  # fmt: skip
    if "<object_id>" in url:
        values["object_id"] = _first_pk(parts[1], parts[2]) if parts[1] != "r" else _first_pk("buildings", "building")
        values["content_type_id"] = str(_content_type("buildings", "building"))
    if "<id>" in url:  # the admin's password form of a user
        values["id"] = _first_pk("accounts", "user")
    for name, value in values.items():
        url = url.replace(f"<{name}>", value)
    if url.endswith(".json") and not url.endswith("/tilejson.json"):  # a format suffix, not a file name
        url += "/" if not url.startswith("api/.json") else ""
    assert "<" not in url, f"a new path parameter in {route.key}: give concrete() a value for it"
    return "/" + url


def _content_type(app: str, model: str) -> int:
    from django.contrib.contenttypes.models import ContentType

    return int(ContentType.objects.get(app_label=app, model=model).pk)


def _user(role: str, objects: dict[str, Any]) -> User | None:
    if role == "anonymous":
        return None
    # A device's username is its sensor's code.
    name = objects["sensor"] if role == Role.DEVICE else f"matrix-{role}"
    return create_user(username=name, password="pw-for-tests-only", role=Role(role))


def _cases(objects: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(row, url, method) for every route (every tile layer for the layer route) and method."""
    out = []
    for route in routes():
        methods = ADMIN_METHODS if route.key.startswith("admin/") else METHODS
        layers = list(LAYERS) if route.key == "tiles/<layer>/<z>/<x>/<y>.pbf" else [None]
        for layer in layers:
            url = concrete(route, objects, layer or "buildings")
            row = f"tiles/{layer}" if layer else (row_for(route.row, table.HTTP) or route.row)
            out += [(row, url, method) for method in methods]
    for download in DOWNLOADS:
        if not download.needs_privacy or privacy_module() is not None:
            out.append((f"download {download.url}", download.url, "GET"))
    return out


def _send(client: Client, method: str, url: str) -> Any:
    body = {"data": "{}", "content_type": "application/json"} if method in ("POST", "PUT", "PATCH") else {}
    with transaction.atomic():
        response = getattr(client, method.lower())(url, **body)
        transaction.set_rollback(True)  # what this request wrote is gone before the next one
    return response


def _expected_cell(row: str, method: str, role: str) -> str:
    if row.startswith("download "):
        return expected(table.DOWNLOADS[row.removeprefix("download ")], role)
    if row.startswith("tiles/") and row.removeprefix("tiles/") in LAYERS:
        return cell(table.TILE_LAYERS[row.removeprefix("tiles/")], method, role)
    return cell(table.HTTP[row], method, role)


@pytest.mark.parametrize("role", ROLES)
def test_http_role_matrix(role: str, objects) -> None:  # noqa: ANN001
    user = _user(role, objects)
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    dump = os.environ.get("ROLE_MATRIX_DUMP")
    found: dict[str, dict[str, str]] = {}
    wrong = []
    cases = _cases(objects)
    for row, url, method in cases:
        got = outcome(_send(client, method, url))
        if user is not None and row in table.SIGNS_OUT:
            client.force_login(user)
        found.setdefault(row, {})[method] = got
        want = None if dump else _expected_cell(row, method, role)
        if want is not None and got != want:
            wrong.append(f"{role:9} {method:6} {url}  [{row}]: expected {want}, got {got}")
    if dump:
        path = Path(dump)
        known = json.loads(path.read_text()) if path.exists() else {}
        known[role] = found
        path.write_text(json.dumps(known, indent=1))
    _count_cells(f"http-{role}", len(cases))
    assert not wrong, f"{len(wrong)} of {len(cases)} cells differ from tests/roles_expected.py:\n" + "\n".join(wrong)


def _count_cells(kind: str, n: int) -> None:
    CELLS_FILE.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(CELLS_FILE.read_text()) if CELLS_FILE.exists() else {}
    known[kind] = n
    CELLS_FILE.write_text(json.dumps(known, indent=1, sort_keys=True))


# --- websockets (the real server) ----------------------------------------------------------------------------
def _session_for(user: User) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return str(store.session_key)


@pytest.fixture(scope="module")
def ws_users(django_db_setup, django_db_blocker) -> Any:  # noqa: ANN001
    """Committed accounts and sessions, one per role (the server is another process)."""
    with django_db_blocker.unblock():
        made = {"anonymous": (None, None)}
        for role in ROLES[1:]:
            user = create_user(username=f"wsrole-{role}", password="pw-for-tests-only", role=Role(role))
            made[role] = (user, _session_for(user))
    yield made
    with django_db_blocker.unblock():
        User.objects.filter(username__startswith="wsrole-").delete()


async def _recv(socket: Any, timeout: float = 10) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(socket.recv(), timeout))


async def _topic_outcomes(server_url: str, session: str | None) -> dict[str, str]:
    found: dict[str, str] = {}
    async with websockets.connect(ws_url(server_url), additional_headers=headers(server_url, session)) as socket:
        for name in TOPICS:
            try:  # the server may close a refused socket before the first send, or after it
                await socket.send(json.dumps({"action": "subscribe", "id": name, "topic": name}))
                first = await _recv(socket)
            except websockets.exceptions.ConnectionClosed as exc:
                found = dict.fromkeys(TOPICS, "closed" if exc.rcvd and exc.rcvd.code == 4401 else f"closed {exc}")
                break
            if first["type"] == "subscribed":
                found[name] = "subscribed"
                while (await _recv(socket))["type"] != "snapshot":
                    pass
            else:
                found[name] = first.get("code", first["type"])
    return found


def test_websocket_topics_role_matrix(server_url, ws_users) -> None:  # noqa: ANN001
    wrong = []
    for role in ROLES:
        found = run_async(_topic_outcomes(server_url, ws_users[role][1]))
        for name in TOPICS:
            want = expected(table.TOPICS[name], role)
            if found.get(name) != want:
                wrong.append(f"{role:9} topic {name}: expected {want}, got {found.get(name)}")
    _count_cells("websocket", len(ROLES) * len(TOPICS))
    assert not wrong, "\n".join(wrong)


def test_dash_boards_role_matrix(server_url, ws_users) -> None:  # noqa: ANN001
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    wrong = []
    for role in ROLES:
        for board, spec in table.BOARDS.items():
            request = urllib.request.Request(server_url + board)
            if ws_users[role][1]:
                request.add_header("Cookie", f"sessionid={ws_users[role][1]}")
            try:
                with opener.open(request, timeout=30) as response:
                    got = "ok" if response.status < 300 else str(response.status)
            except urllib.error.HTTPError as exc:
                location = exc.headers.get("Location", "")
                got = "login" if exc.code in (301, 302) and "/accounts/login/" in location else str(exc.code)
            if got != expected(spec, role):
                wrong.append(f"{role:9} {board}: expected {expected(spec, role)}, got {got}")
    _count_cells("dash", len(ROLES) * len(table.BOARDS))
    assert not wrong, "\n".join(wrong)


# --- role changes reach open websockets ------------------------------------------------------------------------
async def _until(socket: Any, kind: str, timeout: float = 15) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        message = await _recv(socket, max(0.1, deadline - asyncio.get_running_loop().time()))
        if message["type"] == kind:
            return message


async def _subscribed(socket: Any, *topics: str) -> None:
    for name in topics:
        await socket.send(json.dumps({"action": "subscribe", "id": name, "topic": name}))
        await _until(socket, "snapshot")


@pytest.fixture(scope="module")
def changing(django_db_setup, django_db_blocker) -> Any:  # noqa: ANN001
    """Committed operators whose accounts the tests change (in threads: their own, autocommitted connections)."""
    with django_db_blocker.unblock():
        made = {}
        for name in ("change", "logout"):
            user = create_user(username=f"wschange-{name}", password="pw-for-tests-only", role=Role.OPERATOR)
            made[name] = (user, _session_for(user), _session_for(user))
    yield made
    with django_db_blocker.unblock():
        User.objects.filter(username__startswith="wschange-").delete()


def test_a_role_change_ends_the_subscriptions_the_new_role_may_not_have(server_url, changing) -> None:  # noqa: ANN001
    from apps.accounts.services import set_role

    user, session, _ = changing["change"]

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], int]:
        async with websockets.connect(ws_url(server_url), additional_headers=headers(server_url, session)) as socket:
            await _subscribed(socket, "alerts", "readings")
            await asyncio.to_thread(set_role, user=user, role=Role.PLANNER)  # announced on commit
            ended = await _until(socket, "ended", timeout=5)  # at once, well before the periodic re-check
            resync = await _until(socket, "resync")  # readings: still allowed, its audience changed
            await socket.send(json.dumps({"action": "resync", "id": "alerts"}))
            refused = await _until(socket, "error")
            await asyncio.to_thread(set_role, user=user, role=Role.DEVICE)  # a machine account: no socket
            try:
                await _until(socket, "never", timeout=10)
            except websockets.exceptions.ConnectionClosed as exc:
                return ended, resync | {"refused": refused}, exc.rcvd.code if exc.rcvd else 0
            return ended, resync, 0

    ended, resync, code = run_async(scenario())
    assert ended["id"] == "alerts" and ended["code"] == "forbidden" and "your account changed" in ended["detail"]
    assert resync["id"] == "readings" and resync["reason"] == "account_changed"
    assert resync["refused"]["id"] == "alerts"  # the ended subscription is gone
    assert code == 4401


def test_logout_and_a_silent_deactivation_close_open_websockets(server_url, changing) -> None:  # noqa: ANN001
    """Logout (through the real server) closes that session's sockets at once; a deactivation made with a
    plain UPDATE (no announcement) is caught by the periodic re-check (CITYTWIN_WS_RECHECK_S, 2 s in tests)."""
    user, first, second = changing["logout"]

    def logout(session: str) -> int:
        import http.cookiejar

        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        request = urllib.request.Request(server_url + "/accounts/login/", headers={"Cookie": f"sessionid={session}"})
        opener.open(request, timeout=30).read()
        token = next(c.value for c in jar if c.name == "csrftoken")
        request = urllib.request.Request(
            server_url + "/accounts/logout/", data=b"", method="POST",
            headers={"Cookie": f"sessionid={session}; csrftoken={token}", "X-CSRFToken": token,
                     "Origin": server_url, "Referer": server_url + "/"},
        )  # fmt: skip
        try:
            return opener.open(request, timeout=30).status
        except urllib.error.HTTPError as exc:
            return exc.code

    async def closed_code(socket: Any, timeout: float) -> int:
        try:
            await _until(socket, "never", timeout=timeout)
        except websockets.exceptions.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else 0
        return 0

    async def scenario() -> tuple[int, int, int]:
        async with (
            websockets.connect(ws_url(server_url), additional_headers=headers(server_url, first)) as a,
            websockets.connect(ws_url(server_url), additional_headers=headers(server_url, second)) as b,
        ):
            await _subscribed(a, "alerts")
            await _subscribed(b, "alerts")
            status = await asyncio.to_thread(logout, first)
            code_a = await closed_code(a, 5)
            await socket_ping(b)  # the other session's socket is still open
            await asyncio.to_thread(_deactivate_silently, user.pk)
            code_b = await closed_code(b, 10)
            return status, code_a, code_b

    async def socket_ping(socket: Any) -> None:
        await socket.send(json.dumps({"action": "ping"}))
        await _until(socket, "pong")

    status, code_a, code_b = run_async(scenario())
    assert status in (200, 302) and code_a == 4401 and code_b == 4401


def _deactivate_silently(pk: int) -> None:
    from django.db import connection

    User.objects.filter(pk=pk).update(is_active=False)  # no service, no announcement
    connection.close()


def test_report_the_number_of_cells() -> None:
    """Runs last in this module: the cell counts the tests above wrote."""
    cells = json.loads(CELLS_FILE.read_text())
    assert sum(v for k, v in cells.items() if k.startswith("http-")) > 1000 and cells.get("websocket") == 21
    print(f"\nrole matrix: {sum(cells.values())} cells: {cells}")  # noqa: T201
