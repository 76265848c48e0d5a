"""Request bodies are limited before they are read (apps/core/request_limits.py, wired in city/asgi.py):
no client, anonymous included, can make the server read or spool more than the limit."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from django.test import Client

from apps.core.request_limits import RequestBodyLimit

MB = 1024 * 1024


class RecordingApp:
    """An ASGI app that reads the whole body as Django does, then answers 200 with its length."""

    def __init__(self) -> None:
        self.called = False
        self.body = b""
        self.aborted = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.called = True
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.aborted = True
                return
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(self.body)).encode()})


def _run(app: Any, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[list[dict], int]:
    """Drive `app` with a request sending `chunks`; returns the messages sent and how many chunks it pulled."""
    sent: list[dict] = []
    pulled = 0

    async def receive() -> dict:
        nonlocal pulled
        pulled += 1
        if pulled > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/x/", "headers": headers}
    asyncio.run(app(scope, receive, send))
    return sent, pulled


def _status(sent: list[dict]) -> int:
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body() -> None:
    inner = RecordingApp()
    sent, pulled = _run(RequestBodyLimit(inner, default_limit=1000), [(b"content-length", b"300000000")], [b"x"])
    assert _status(sent) == 413 and pulled == 0 and not inner.called
    assert b"request_too_large" in sent[-1]["body"]


def test_a_chunked_body_is_cut_off_as_soon_as_it_passes_the_limit() -> None:
    inner = RecordingApp()
    chunks = [b"x" * 400] * 1000  # 400 kB in all, no Content-Length
    sent, pulled = _run(RequestBodyLimit(inner, default_limit=1000), [], chunks)
    assert _status(sent) == 413
    assert pulled == 3  # 1,200 bytes: the third chunk passed the limit; the other 997 were never read
    assert inner.aborted and len(inner.body) == 800


def test_bodies_within_the_limit_pass_untouched() -> None:
    inner = RecordingApp()
    sent, _ = _run(RequestBodyLimit(inner, default_limit=1000), [(b"content-length", b"1000")], [b"y" * 1000])
    assert _status(sent) == 200 and inner.body == b"y" * 1000


def test_a_larger_limit_is_granted_only_by_the_policy() -> None:
    async def grant(scope: dict[str, Any]) -> int | None:
        return 5000 if dict(scope["headers"]).get(b"x-editor") else None

    for headers, expected in (([(b"x-editor", b"1")], 200), ([], 413)):
        inner = RecordingApp()
        app = RequestBodyLimit(inner, default_limit=1000, larger_limit=grant)
        sent, _ = _run(app, [(b"content-length", b"3000"), *headers], [b"z" * 3000])
        assert _status(sent) == expected


def test_a_malformed_content_length_is_a_400() -> None:
    sent, _ = _run(RequestBodyLimit(RecordingApp(), default_limit=1000), [(b"content-length", b"12abc")], [b""])
    assert _status(sent) == 400


# --- against the real server (uvicorn serving city.asgi:application, as `make run` does) ---


def _connect(server_url: str) -> socket.socket:
    url = urlparse(server_url)
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    return sock


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    sock.settimeout(10)
    try:
        while b"\r\n\r\n" not in data or len(data) < data.find(b"\r\n\r\n") + 4 + 10:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def test_the_server_refuses_a_huge_declared_body_at_once(server_url: str) -> None:
    sock = _connect(server_url)
    sock.sendall(b"POST /healthz/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 300000000\r\n\r\n")
    response = _read_response(sock)  # nothing of the body was sent: the answer comes from the headers alone
    sock.close()
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert b"request_too_large" in response


def test_the_server_stops_reading_a_chunked_body_at_the_limit(server_url: str, settings) -> None:  # noqa: ANN001
    limit = settings.CITYTWIN_MAX_BODY_KB * 1024
    sock = _connect(server_url)
    sock.sendall(b"POST /healthz/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 65536
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    sent = 0
    pending = b""
    sock.setblocking(False)
    response = b""
    deadline = time.monotonic() + 60
    while sent < 300 * MB and time.monotonic() < deadline:
        try:
            response += sock.recv(65536)
            if response:
                break
        except BlockingIOError:
            pass
        except ConnectionResetError:
            break
        pending = pending or framed  # partial sends continue the same frame
        try:
            n = sock.send(pending)
            sent += n
            pending = pending[n:]
        except BlockingIOError:
            time.sleep(0.005)
        except (BrokenPipeError, ConnectionResetError):
            break
    sock.setblocking(True)
    if not response:
        response = _read_response(sock)
    sock.close()
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    # What the server took in is bounded by the limit plus the socket buffers, not by what was offered.
    assert sent < limit + 16 * MB, sent


@pytest.fixture
def committed_session(django_db_blocker) -> Iterator[Any]:  # noqa: ANN001
    """A signed-in session cookie per role, committed so the real server sees it."""
    from apps.accounts.models import Role, User
    from apps.accounts.services import create_user

    made: list[User] = []

    def login(role: Role) -> str:
        with django_db_blocker.unblock():
            user = create_user(username=f"limits-{role}-{len(made)}", password="pw-for-tests-only", role=role)
            made.append(user)
            client = Client()
            client.force_login(user)
            return client.cookies["sessionid"].value

    yield login
    with django_db_blocker.unblock():
        for user in made:
            user.delete()


def _post_upload(server_url: str, cookie: str | None, size: int) -> bytes:
    boundary = b"----citytwinlimit"
    body = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.geojson"\r\n'
        b"Content-Type: application/geo+json\r\n\r\n{" + b" " * size + b"}\r\n--" + boundary + b"--\r\n"
    )
    headers = (
        b"POST /imports/upload/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
        b"Content-Type: multipart/form-data; boundary=" + boundary + b"\r\n"
        b"Content-Length: %d\r\n" % len(body)
    )
    if cookie:
        headers += b"Cookie: sessionid=" + cookie.encode() + b"\r\n"
    sock = _connect(server_url)
    sock.sendall(headers + b"\r\n")
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(body)  # refused before the body: the answer is waiting
    response = _read_response(sock)
    sock.close()
    return response


def test_only_data_editors_may_send_an_upload_over_the_default_limit(  # noqa: ANN001
    server_url: str, committed_session, settings
) -> None:
    from apps.accounts.models import Role

    size = settings.CITYTWIN_MAX_BODY_KB * 1024 + MB
    for cookie in (None, committed_session(Role.PLANNER), committed_session(Role.OPERATOR)):
        assert _post_upload(server_url, cookie, size).startswith(b"HTTP/1.1 413")
    response = _post_upload(server_url, committed_session(Role.GIS_STAFF), size)
    status = int(response.split(b" ", 2)[1])
    # Read and handed to the loader, which judges the file itself (not a valid GeoJSON: 400).
    assert status != 413 and status < 500, response[:300]
