"""Who is behind a raw ASGI request, before Django has built a request object.

Used by the request body limit (apps/core/request_limits.py), which must decide on a larger limit before
the body is read, i.e. before Django's middleware runs. It checks the same credentials Django would: the
session cookie (with the session's auth hash, as django.contrib.auth.get_user does) or a DRF token."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.utils.module_loading import import_string

from .permissions import role_of


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin1"))
    return ""


def user_of_token(authorization: str) -> Any:
    """The user an `Authorization: Token <key>` header names, or None (no such header or no such token)."""
    if not authorization.lower().startswith("token "):
        return None
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=authorization[6:].strip()).first()
    return token.user if token is not None else None


def user_of_scope(scope: dict[str, Any]) -> Any:
    """The user the request's credentials name (None or anonymous when none or invalid); synchronous (ORM)."""
    authorization = _header(scope, b"authorization")
    if authorization.lower().startswith("token "):
        return user_of_token(authorization)
    return user_of_session(scope)


def session_key_of(scope: dict[str, Any]) -> str | None:
    """The session key the request's cookie names (None without one); not checked against the store."""
    return parse_cookie(_header(scope, b"cookie")).get(settings.SESSION_COOKIE_NAME) or None


def user_of_session_key(session_key: str | None) -> Any:
    """The user a session names now, as django.contrib.auth.get_user finds it (AnonymousUser when it was
    logged out, expired, its password changed or the account deactivated; None without a key)."""
    if not session_key:
        return None
    engine = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    request = HttpRequest()
    request.session = engine(session_key=session_key)
    return get_user(request)  # type: ignore[arg-type]


def user_of_session(scope: dict[str, Any]) -> Any:
    """The user of the request's session cookie, as django.contrib.auth.get_user finds it (None without one)."""
    return user_of_session_key(session_key_of(scope))


def _role_of_scope(scope: dict[str, Any]) -> str:
    return role_of(user_of_scope(scope))


async def role_of_scope(scope: dict[str, Any]) -> str:
    """The role of the user the request's credentials name ('public' when none or invalid)."""
    return await sync_to_async(_role_of_scope, thread_sensitive=True)(scope)
