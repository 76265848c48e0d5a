"""The lean tile path (apps/tiles/lean.py) against Django's tile view, both through city.asgi.

Both are driven as ASGI apps on one event loop of this module (one loop: the lean path's SQL pool and Redis
client belong to it). The lean path reads PostGIS through its own connections, so what it must see is
committed: the demo city (loaded once per session) and this module's accounts (created committed here and
deleted at the end)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import mapbox_vector_tile
import pytest
from django.conf import settings
from django.test.utils import override_settings

from apps.assets.conf import public_asset_kinds
from tests.test_tiles import CENTRE, tile_of

# (the marker also makes pytest-django create the test database when this module runs alone)
pytestmark = pytest.mark.django_db

LAYER_ZOOM = {"buildings": 16, "roads": 15, "assets": 14, "districts": 12}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class Loop:
    """One event loop in a thread; call() runs an ASGI request on it and waits for the reply."""

    def __init__(self) -> None:
        import city.asgi  # after the test database exists: importing it builds the Dash boards

        self.front: Any = city.asgi.front
        self.django: Any = city.asgi.http_application
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, app: Any, path: str, *, method: str = "GET", headers: dict[str, str] | None = None) -> Reply:
        return asyncio.run_coroutine_threadsafe(_request(app, path, method, headers or {}), self.loop).result(60)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.front.aclose(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


async def _request(app: Any, path: str, method: str, headers: dict[str, str]) -> Reply:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": headers.pop("scheme", "http"),
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver")] + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    received = False
    start: dict[str, Any] = {}
    body = bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:  # nothing more: wait as a connected client does
            await asyncio.Event().wait()
        received = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await app(scope, receive, send)
    heads = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    return Reply(start["status"], heads, bytes(body))


@pytest.fixture(scope="module")
def loop(django_db_setup, django_db_blocker) -> Iterator[Loop]:  # noqa: ANN001
    with django_db_blocker.unblock():
        runner = Loop()
        yield runner
        runner.close()


@pytest.fixture(scope="module")
def signed_in(django_db_setup, django_db_blocker) -> Iterator[dict[str, str]]:  # noqa: ANN001
    """A committed planner with a session cookie and an API token."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from apps.accounts.models import Role, User

    with django_db_blocker.unblock():
        user = User.objects.create_user(username="lean-tiles-planner", password="x-unused-9f2", role=Role.PLANNER)
        token = Token.objects.create(user=user)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        yield {"cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}", "token": f"Token {token.key}"}
        session.delete()
        user.delete()


def url(layer: str, z: int | None = None) -> str:
    z = LAYER_ZOOM[layer] if z is None else z
    x, y = tile_of(*CENTRE, z)
    return f"/tiles/{layer}/{z}/{x}/{y}.pbf"


def both(loop: Loop, path: str, **kw: Any) -> tuple[Reply, Reply]:
    """(lean, django) replies; the lean one asked twice so the second comes from its in-process cache."""
    loop.call(loop.front, path, **kw)
    return loop.call(loop.front, path, **kw), loop.call(loop.django, path, **kw)


def kinds(reply: Reply) -> set[str]:
    return {f["properties"]["kind"] for f in mapbox_vector_tile.decode(reply.body)["assets"]["features"]}


def test_the_lean_path_is_in_front_of_django(loop: Loop) -> None:
    from apps.tiles.lean import LeanTiles

    assert settings.CITYTWIN_TILE_LEAN and isinstance(loop.front, LeanTiles)


@pytest.mark.parametrize("layer", list(LAYER_ZOOM))
def test_same_bytes_and_headers_as_django_for_each_layer(loop: Loop, layer: str) -> None:
    lean, django = both(loop, url(layer))
    assert lean.status == django.status == 200
    assert lean.body == django.body and len(lean.body) > 0
    assert lean.headers == django.headers
    assert "content-security-policy" in lean.headers and lean.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("cache_on", [True, False])
def test_same_bytes_with_the_cache_on_and_off(loop: Loop, cache_on: bool) -> None:
    with override_settings(CITYTWIN_TILE_CACHE=cache_on):
        lean, django = both(loop, url("buildings", 15))
    assert lean.body == django.body and lean.headers == django.headers


def test_conditional_get_and_head(loop: Loop) -> None:
    path = url("roads")
    get = loop.call(loop.front, path)
    again = loop.call(loop.front, path, headers={"If-None-Match": get.headers["etag"]})
    old = loop.call(loop.django, path, headers={"If-None-Match": get.headers["etag"]})
    assert again.status == old.status == 304 and again.body == b""
    assert again.headers == old.headers
    head = loop.call(loop.front, path, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["content-length"] == str(len(get.body)) and head.headers["etag"] == get.headers["etag"]
    stale = loop.call(loop.front, path, headers={"If-None-Match": '"not-this-one"'})
    assert stale.status == 200 and stale.body == get.body


def test_assets_are_private_and_public_sees_only_public_kinds_cold_and_warm(loop: Loop) -> None:
    from django.core.cache import cache

    from apps.core.data_version import VERSION_KEY, data_version

    path = url("assets")
    data_version()
    cache.incr(VERSION_KEY)  # cold: a new version, so neither this process nor Redis has the tile
    cold = loop.call(loop.front, path)
    warm = loop.call(loop.front, path)
    for reply in (cold, warm):
        assert reply.status == 200 and "private" in reply.headers["cache-control"]
        assert reply.headers["vary"] == "Cookie, Authorization" and "access-control-allow-origin" not in reply.headers
        assert "street_lamp" in kinds(reply) and kinds(reply) <= public_asset_kinds()


@pytest.mark.parametrize("credential", ["cookie", "token"])
def test_signed_in_sees_every_kind_through_the_lean_path(
    loop: Loop, signed_in: dict[str, str], credential: str
) -> None:
    header = {"Cookie": signed_in["cookie"]} if credential == "cookie" else {"Authorization": signed_in["token"]}
    lean, django = both(loop, url("assets"), headers=header)
    assert kinds(lean) - public_asset_kinds()  # e.g. pipelines, substations
    assert lean.body == django.body and lean.headers == django.headers
    public = loop.call(loop.front, url("assets"))  # the staff tile is not served to the public
    assert not kinds(public) - public_asset_kinds()


def test_a_session_with_a_bad_token_reads_as_the_session_as_in_django(loop: Loop, signed_in: dict[str, str]) -> None:
    header = {"Cookie": signed_in["cookie"], "Authorization": "Token nonsense"}
    lean, django = both(loop, url("assets"), headers=header)
    assert kinds(lean) - public_asset_kinds() and lean.body == django.body


def test_bad_cookie_or_token_reads_as_public(loop: Loop) -> None:
    for header in ({"Cookie": f"{settings.SESSION_COOKIE_NAME}=nonsense"}, {"Authorization": "Token nonsense"}):
        reply = loop.call(loop.front, url("assets"), headers=header)
        assert reply.status == 200 and kinds(reply) <= public_asset_kinds()


@pytest.mark.parametrize(
    ("path", "method", "status", "code"),
    [
        ("/tiles/secrets/1/0/0.pbf", "GET", 404, "unknown_layer"),
        ("/tiles/buildings/23/0/0.pbf", "GET", 400, "invalid_tile"),
        ("/tiles/buildings/2/4/0.pbf", "GET", 400, "invalid_tile"),
        ("/tiles/buildings/2/0/-1.pbf", "GET", 400, "invalid_tile"),
        ("/tiles/buildings/2/0/0.pbf", "POST", 403, None),  # CSRF refuses it before the view's 405
    ],
)
def test_what_the_lean_path_cannot_decide_django_answers(
    loop: Loop, path: str, method: str, status: int, code: str | None
) -> None:
    lean = loop.call(loop.front, path, method=method)
    django = loop.call(loop.django, path, method=method)
    assert lean.status == django.status == status and lean.body == django.body
    if code:
        assert code in lean.body.decode()


def test_security_headers_match_django_under_production_settings(loop: Loop) -> None:
    prod = {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "ALLOWED_HOSTS": ["testserver"],
    }
    with override_settings(**prod):
        from django.core.asgi import get_asgi_application

        django_app = get_asgi_application()  # Django's middleware reads these settings when it is loaded
        for layer in ("buildings", "assets"):
            https = {"X-Forwarded-Proto": "https"}
            lean, django = (
                loop.call(loop.front, url(layer), headers=https),
                loop.call(django_app, url(layer), headers=https),
            )
            assert lean.headers == django.headers and "strict-transport-security" in lean.headers
        from apps.tiles.lean import LeanTiles

        plain = loop.call(LeanTiles(django_app), url("buildings"))  # http: the lean path leaves it to Django
        assert plain.status == 301 and plain.headers["location"].startswith("https://")
    with override_settings(ALLOWED_HOSTS=["elsewhere.example"]):
        assert loop.call(loop.front, url("buildings")).status == 400  # Django's DisallowedHost


def committed(fn: Any) -> None:
    """Run `fn` on a connection of its own, in autocommit (the test's own transaction is never committed),
    as another process would write."""
    from django.db import connection

    failure: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            failure.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if failure:
        raise failure[0]


def test_a_city_change_reaches_the_lean_path(loop: Loop) -> None:
    from apps.buildings.models import Building
    from apps.core.data_version import city_data_changed

    path = url("buildings")
    before = mapbox_vector_tile.decode(loop.call(loop.front, path).body)["buildings"]["features"]
    target = before[0]["id"]
    names: list[str] = []

    def rename() -> None:
        names.append(Building.objects.get(pk=target).name)
        Building.objects.filter(pk=target).update(name="renamed by the lean tile test")
        city_data_changed()  # autocommit: the version moves at once

    def restore() -> None:
        Building.objects.filter(pk=target).update(name=names[0])
        city_data_changed()

    committed(rename)
    try:
        after = mapbox_vector_tile.decode(loop.call(loop.front, path).body)["buildings"]["features"]
    finally:
        committed(restore)
    renamed = {f["id"]: f["properties"].get("name") for f in after}
    assert renamed[target] == "renamed by the lean tile test"


def test_a_redis_that_lost_the_version_does_not_bring_back_old_tiles(loop: Loop) -> None:
    from django.core.cache import cache

    from apps.core.data_version import VERSION_KEY, data_version
    from apps.tiles.cache import tile_key

    path = url("buildings", 15)
    start = data_version()
    try:
        cache.set(VERSION_KEY, 1, timeout=None)
        old = loop.call(loop.front, path).body  # this process keeps it under version 1
        cache.set(VERSION_KEY, start + 5, timeout=None)
        loop.call(loop.front, path)
        cache.delete(VERSION_KEY)  # Redis restarted empty: the version counts from 1 again
        x, y = tile_of(*CENTRE, 15)
        cache.set(tile_key(1, "buildings", "public", 15, x, y), b"what the others cached since", timeout=60)
        assert old != b"what the others cached since"
        assert loop.call(loop.front, path).body == b"what the others cached since"
    finally:
        cache.set(VERSION_KEY, start + 6, timeout=None)
