"""Helpers of the Dash board tests: committed users of every role with a session the live server
accepts, and raw HTTP against the real ASGI server (tests/conftest.py server_url)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from apps.accounts.models import Role

ROLES = {"planner": Role.PLANNER, "operator": Role.OPERATOR, "gis_staff": Role.GIS_STAFF, "admin": Role.ADMIN}
PASSWORD = "a-long-dash-test-password-7"


@pytest.fixture(scope="module")
def role_sessions(django_db_setup, django_db_blocker) -> Iterator[dict[str, str]]:  # noqa: ANN001
    """{role: session cookie value} of committed users (the server process must see them)."""
    from django.conf import settings
    from django.test import Client

    from apps.accounts.models import User
    from apps.accounts.services import create_user

    sessions: dict[str, str] = {}
    with django_db_blocker.unblock():
        users = [create_user(username=f"dash-{name}", password=PASSWORD, role=role) for name, role in ROLES.items()]
        for name, user in zip(ROLES, users, strict=True):
            client = Client()
            client.force_login(user)
            sessions[name] = client.cookies[settings.SESSION_COOKIE_NAME].value
    yield sessions
    with django_db_blocker.unblock():
        User.objects.filter(username__in=[f"dash-{n}" for n in ROLES]).delete()


def request(
    server_url: str, method: str, path: str, *, session: str | None = None, body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:  # fmt: skip
    """One request (no redirects followed); headers lower-cased, Set-Cookie joined with newlines."""
    parts = urlsplit(server_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    sent = dict(headers or {})
    if session:
        sent["Cookie"] = "; ".join(filter(None, [f"sessionid={session}", sent.pop("Cookie", "")]))
    payload = json.dumps(body).encode() if body is not None else None
    if payload is not None:
        sent.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=payload, headers=sent)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        got: dict[str, str] = {}
        for key, value in response.getheaders():
            key = key.lower()
            got[key] = f"{got[key]}\n{value}" if key in got else value
        return response.status, got, text
    finally:
        conn.close()
