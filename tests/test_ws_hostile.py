"""Hostile websocket clients (issue 8, items 10c and 11): messages that are not the protocol are answered with
an `error` and leave the socket open and usable (through the real uvicorn server); the origin check compares
the whole origin (scheme, host, port) and does not trust the Host header (the real server, and the ASGI
application in process for the settings a deployment has)."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any
from urllib.parse import urlparse

import pytest
import websockets
from asgiref.testing import ApplicationCommunicator

from apps.accounts.models import Role
from apps.streaming.routing import websocket_application
from tests.test_live import headers, run_async, ws_url

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def operator_session(django_db_setup, django_db_blocker):  # noqa: ANN001
    """A committed operator and its session key (the server process must see them)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from apps.accounts.models import User
    from apps.accounts.services import create_user

    with django_db_blocker.unblock():
        user = create_user(username="wsh-operator", password="unused-password-123", role=Role.OPERATOR)
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
    yield store.session_key
    with django_db_blocker.unblock():
        User.objects.filter(username="wsh-operator").delete()


def subscribe(sub_id: Any, topic: Any = "readings", **fields: Any) -> str:
    return json.dumps({"action": "subscribe", "id": sub_id, "topic": topic, **fields})


DEEP = 20_000  # levels: past Python's recursion limit, inside the message size limit
HOSTILE: list[tuple[str, str | bytes, str]] = [  # (what, frame, error code)
    ("text that is not JSON", "not json {", "invalid"),
    ("an empty text frame", "", "invalid"),
    ("a binary frame", b"\x00\x01\x02 binary", "invalid"),
    ("deep JSON", "[" * DEEP + "]" * DEEP, "invalid"),
    ("deep JSON in params", subscribe("d", params={"bbox": json.loads("[" * 200 + "]" * 200)}), "invalid"),
    ("a number of 5,000 digits", '{"action": ' + "1" * 5000 + "}", "invalid"),
    ("a JSON array", "[1, 2]", "invalid"),
    ("kinds [[1]]", subscribe("k", params={"kinds": [[1]]}), "invalid"),
    ("kinds [{}]", subscribe("k", params={"kinds": [{}]}), "invalid"),
    ("kinds a string", subscribe("k", params={"kinds": "traffic"}), "invalid"),
    ("kinds an object", subscribe("k", params={"kinds": {"traffic": 1}}), "invalid"),
    ("bbox of lists", subscribe("b", params={"bbox": [[1], [2], [3], [4]]}), "invalid"),
    ("bbox an object", subscribe("b", params={"bbox": {"w": 1}}), "invalid"),
    ("bbox of booleans", subscribe("b", params={"bbox": [False, False, True, True]}), "invalid"),
    ("bbox with Infinity", '{"action": "subscribe", "id": "b", "topic": "readings", "params": {"bbox": [0, 0, 1, Infinity]}}', "invalid"),
    ("an unknown param", subscribe("p", params={"kindz": ["traffic"]}), "invalid"),
    ("params a list", subscribe("p", params=[["kinds"]]), "invalid"),
    ("params for alerts", subscribe("a", "alerts", params={"since": [1]}), "invalid"),
    ("id a list", subscribe([[1]]), "invalid"),
    ("id an object", json.dumps({"action": "ping", "id": {"a": [1]}}), "invalid"),
    ("topic a list", subscribe("t", [["readings"]]), "unknown_topic"),
    ("action a list", json.dumps({"action": [[1]], "id": "x"}), "invalid"),
    ("resync of nothing", json.dumps({"action": "resync", "id": "nope"}), "invalid"),
    ("a 1 MB text frame", json.dumps({"action": "ping", "pad": "x" * 1_000_000}), "too_large"),
]  # fmt: skip


def test_malformed_messages_are_answered_and_the_socket_stays_usable(server_url, operator_session) -> None:  # noqa: ANN001
    async def scenario() -> list[tuple[str, dict[str, Any]]]:
        answers = []
        async with websockets.connect(
            ws_url(server_url), additional_headers=headers(server_url, operator_session), max_size=None
        ) as ws:
            for what, frame, _ in HOSTILE:
                await ws.send(frame)
                try:
                    answers.append((what, json.loads(await asyncio.wait_for(ws.recv(), timeout=5))))
                except websockets.exceptions.ConnectionClosed as exc:
                    raise AssertionError(f"{what}: the socket was dropped ({exc})") from exc
            # Still usable: a valid subscription goes through.
            await ws.send(subscribe("ok", params={"kinds": ["traffic"], "bbox": [24.9, 60.1, 25.0, 60.2]}))
            answers.append(("subscribe", json.loads(await ws.recv())))
            answers.append(("snapshot", json.loads(await ws.recv())))
            await ws.send(json.dumps({"action": "ping"}))
            answers.append(("ping", json.loads(await ws.recv())))
        return answers

    answers = run_async(scenario())
    for (what, _, code), (answered, message) in zip(HOSTILE, answers, strict=False):
        assert answered == what
        assert (message["type"], message["code"]) == ("error", code), (what, message)
        assert message["detail"]
    by_what = dict(answers)
    assert "binary frames" in by_what["a binary frame"]["detail"]
    assert "nested more than 8 levels" in by_what["deep JSON"]["detail"]
    assert "nested more than 8 levels" in by_what["deep JSON in params"]["detail"]
    assert by_what["kinds [[1]]"]["id"] == "k" and "kinds must be a list of" in by_what["kinds [[1]]"]["detail"]
    assert "unknown params kindz" in by_what["an unknown param"]["detail"]
    assert "at most 65536 characters" in by_what["a 1 MB text frame"]["detail"]
    assert by_what["subscribe"] == {"type": "subscribed", "id": "ok", "topic": "readings"}
    assert by_what["snapshot"]["type"] == "snapshot" and by_what["snapshot"]["id"] == "ok"
    assert by_what["ping"] == {"type": "pong"}


# --- the origin check ----------------------------------------------------------------------------


def handshake_status(server_url: str, host: str, origin: str, session: str) -> int:
    """The status a websocket handshake with exactly these Host and Origin headers gets (101: accepted)."""
    address = urlparse(server_url)
    request = (
        "GET /ws/ HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        f"Origin: {origin}\r\n"
        f"Cookie: sessionid={session}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request.encode())
        status_line = sock.makefile("rb").readline().decode()
    return int(status_line.split()[1])


def test_the_real_server_refuses_a_forged_host_and_the_other_scheme(server_url, operator_session) -> None:  # noqa: ANN001
    own = urlparse(server_url).netloc  # 127.0.0.1:port, served over http
    assert handshake_status(server_url, own, f"http://{own}", operator_session) == 101
    # The test server's ALLOWED_HOSTS is "*": a Host header proves nothing, the page's origin must be this
    # server's own.
    assert handshake_status(server_url, "evil.example", "http://evil.example", operator_session) == 403
    assert handshake_status(server_url, f"evil.example:{urlparse(server_url).port}", f"http://evil.example:{urlparse(server_url).port}", operator_session) == 403  # fmt: skip
    assert handshake_status(server_url, own, f"https://{own}", operator_session) == 403  # served over http
    assert handshake_status(server_url, own, "null", operator_session) == 403


async def origin_check(
    origin: str | list[str] | None,
    *,
    host: str = "city.example",
    scheme: str = "ws",
    extra: dict[str, str] | None = None,
) -> str:
    """What the ASGI application does with a handshake: 'accepted' (then closed 4401: no session here) or
    'refused' (a 403)."""
    hdrs = [(b"host", host.encode())]
    for value in [origin] if isinstance(origin, str) else origin or []:
        hdrs.append((b"origin", value.encode()))
    hdrs += [(name.lower().encode(), value.encode()) for name, value in (extra or {}).items()]
    scope = {
        "type": "websocket",
        "path": "/ws/",
        "raw_path": b"/ws/",
        "query_string": b"",
        "scheme": scheme,
        "headers": hdrs,
        "server": ("10.0.0.5", 8000),
        "client": ("10.0.0.9", 40000),
        "subprotocols": [],
    }
    app = ApplicationCommunicator(websocket_application(), scope)
    await app.send_input({"type": "websocket.connect"})
    first = await app.receive_output(timeout=5)
    await app.send_input({"type": "websocket.disconnect", "code": 1000})
    await app.wait(timeout=5)
    return {"websocket.accept": "accepted", "websocket.close": "refused"}[first["type"]]


@pytest.fixture
def site(settings):  # noqa: ANN001
    settings.ALLOWED_HOSTS = ["city.example", ".maps.example"]
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.CITYTWIN_WS_ALLOWED_ORIGINS = []
    settings.SECURE_PROXY_SSL_HEADER = None
    return settings


CASES = [
    # (origin, host, scope scheme, extra headers, settings, expected)
    ("http://city.example", "city.example", "ws", {}, {}, "accepted"),
    ("https://city.example", "city.example", "wss", {}, {}, "accepted"),
    ("https://city.example", "city.example", "ws", {}, {}, "refused"),  # served over http
    ("http://city.example", "city.example", "wss", {}, {}, "refused"),  # served over https
    ("http://city.example:8000", "city.example:8000", "ws", {}, {}, "accepted"),
    ("http://city.example", "city.example:8000", "ws", {}, {}, "refused"),  # other port
    ("http://a.maps.example", "a.maps.example", "ws", {}, {}, "accepted"),  # ALLOWED_HOSTS ".maps.example"
    ("http://evil.example", "evil.example", "ws", {}, {}, "refused"),  # forged Host
    ("http://evil.example", "evil.example", "ws", {}, {"ALLOWED_HOSTS": ["*"]}, "refused"),  # "*" proves nothing
    ("http://10.0.0.5:8000", "evil.example", "ws", {}, {"ALLOWED_HOSTS": ["*"]}, "accepted"),  # the server's address
    ("https://10.0.0.5:8000", "10.0.0.5:8000", "ws", {}, {"ALLOWED_HOSTS": ["*"]}, "refused"),
    # X-Forwarded-Proto counts only if SECURE_PROXY_SSL_HEADER says so
    ("https://city.example", "city.example", "ws", {"X-Forwarded-Proto": "https"}, {}, "refused"),
    ("https://city.example", "city.example", "ws", {"X-Forwarded-Proto": "https"}, {"SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")}, "accepted"),
    ("http://city.example", "city.example", "ws", {"X-Forwarded-Proto": "https"}, {"SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")}, "refused"),
    ("https://city.example", "city.example", "wss", {"X-Forwarded-Proto": "http"}, {"SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")}, "refused"),
    # allowed by name: scheme included
    ("https://app.example", "city.example", "ws", {}, {"CITYTWIN_WS_ALLOWED_ORIGINS": ["https://app.example"]}, "accepted"),
    ("http://app.example", "city.example", "ws", {}, {"CITYTWIN_WS_ALLOWED_ORIGINS": ["https://app.example"]}, "refused"),
    ("https://app.example:8443", "city.example", "ws", {}, {"CITYTWIN_WS_ALLOWED_ORIGINS": ["https://app.example"]}, "refused"),
    ("https://x.trusted.example", "city.example", "ws", {}, {"CSRF_TRUSTED_ORIGINS": ["https://*.trusted.example"]}, "accepted"),
    ("http://x.trusted.example", "city.example", "ws", {}, {"CSRF_TRUSTED_ORIGINS": ["https://*.trusted.example"]}, "refused"),
    # not an origin at all
    ("null", "city.example", "ws", {}, {}, "refused"),
    ("http://city.example/page", "city.example", "ws", {}, {}, "refused"),
    ("http://user@city.example", "city.example", "ws", {}, {}, "refused"),
    ("ftp://city.example", "city.example", "ws", {}, {}, "refused"),
    (None, "city.example", "ws", {}, {}, "refused"),
    (["http://city.example", "http://evil.example"], "city.example", "ws", {}, {}, "refused"),
]  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.parametrize(("origin", "host", "scheme", "extra", "overrides", "expected"), CASES)
async def test_the_origin_check_compares_scheme_host_and_port(
    site,  # noqa: ANN001
    origin: str | list[str] | None,
    host: str,
    scheme: str,
    extra: dict[str, str],
    overrides: dict[str, Any],
    expected: str,
) -> None:
    for name, value in overrides.items():
        setattr(site, name, value)
    assert await origin_check(origin, host=host, scheme=scheme, extra=extra) == expected
