"""Websocket routing and the origin check: a browser may only open /ws/ from a page of this site.

The check compares the whole origin (scheme, host, port) with the origins this site is served at, never
the Origin's host with the request's Host header alone: a Host header is whatever the client (or a DNS
rebinding page) says, and http://site and https://site are different origins."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.routing import URLRouter
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
from django.urls import path
from django.utils.http import is_same_domain

from apps.accounts.async_identity import auser_of_session_key
from apps.accounts.identity import session_key_of

from .consumers import CityConsumer

websocket_urlpatterns = [path("ws/", CityConsumer.as_asgi())]

DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]  # scheme, host (lower case), port


def parse_origin(value: str, *, strict: bool = True) -> Origin | None:
    """An http(s) origin as (scheme, host, port); None if `value` is not one. `strict`: as a browser sends it
    in an Origin header (no path, no credentials); otherwise a configured origin, where a path is ignored."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if strict and (parts.path or parts.query or parts.fragment or parts.username is not None):
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def _netloc(origin: Origin) -> str:
    scheme, host, port = origin
    return host if port == DEFAULT_PORTS[scheme] else f"{host}:{port}"


# (allowed origins as configured) -> (the exact origins, the (scheme, ".domain") of each wildcard entry):
# parsed once, not for every socket that opens (settings can change under tests, hence the key).
_parsed_lists: dict[tuple[str, ...], tuple[frozenset[Origin], tuple[tuple[str, str], ...]]] = {}


def _parsed(allowed: tuple[str, ...]) -> tuple[frozenset[Origin], tuple[tuple[str, str], ...]]:
    parsed = _parsed_lists.get(allowed)
    if parsed is None:
        exact = {parse_origin(entry, strict=False) for entry in allowed if "*" not in entry}
        wild = [urlsplit(entry) for entry in allowed if "*" in entry]
        wildcards = tuple((parts.scheme.lower(), parts.netloc.lstrip("*")) for parts in wild)
        parsed = _parsed_lists[allowed] = (frozenset(o for o in exact if o is not None), wildcards)
    return parsed


def _listed(origin: Origin, allowed: tuple[str, ...]) -> bool:
    """In a list of origins as CSRF_TRUSTED_ORIGINS takes them: exact, or `https://*.example.com` for the
    subdomains of example.com (on that scheme)."""
    exact, wildcards = _parsed(allowed)
    if origin in exact:
        return True
    return any(scheme == origin[0] and is_same_domain(_netloc(origin), domain) for scheme, domain in wildcards)


def served_scheme(scope: dict[str, Any], headers: dict[bytes, bytes]) -> str:
    """http or https: how this request reached the site, as Django's request.scheme would say. The server
    sets the scope's scheme (uvicorn --proxy-headers does, for the proxies it trusts); a proxy header counts
    only if SECURE_PROXY_SSL_HEADER names it."""
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        meta_name, secure_value = proxy_header
        name = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin1")
        value = headers.get(name)
        if value is not None:
            scheme = "https" if value.decode("latin1").split(",", 1)[0].strip() == secure_value else "http"
    return scheme


def origin_allowed(scope: dict[str, Any]) -> bool:
    raw_headers = scope.get("headers") or []
    origins = [value for name, value in raw_headers if name.lower() == b"origin"]
    if len(origins) != 1:
        return False
    origin = parse_origin(origins[0].decode("latin1"))
    if origin is None:  # "null" (a sandboxed frame, a file:// page), or not http(s)
        return False
    # 1. Origins allowed by name: other sites of ours, and those Django already trusts for POSTs.
    if _listed(origin, (*settings.CITYTWIN_WS_ALLOWED_ORIGINS, *settings.CSRF_TRUSTED_ORIGINS)):
        return True
    # Joined as Django's ASGI request joins repeated headers (the first value counts).
    headers: dict[bytes, bytes] = {}
    for name, value in raw_headers:
        key = name.lower()
        headers[key] = headers[key] + b"," + value if key in headers else value
    scheme = served_scheme(scope, headers)
    if origin[0] != scheme:
        return False
    # 2. This site, as this request reached it: a Host that ALLOWED_HOSTS names. "*" names every Host a
    # client cares to send, so it does not count here.
    domain, port = split_domain_port(headers.get(b"host", b"").decode("latin1"))
    hosts = [h for h in settings.ALLOWED_HOSTS if h != "*"]
    if domain and validate_host(domain, hosts) and (scheme, domain, int(port or DEFAULT_PORTS[scheme])) == origin:
        return True
    # 3. The address this server itself listens on (a direct connection, as in development and tests).
    server = scope.get("server")
    if server and server[1] is not None:
        return (scheme, str(server[0]).lower(), int(server[1])) == origin
    return False


class SameOriginValidator:
    """Accepts a socket whose Origin is this site (see origin_allowed) and refuses the rest (a 403 to the
    handshake), sockets without an Origin included."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        denier = WebsocketDenier()
        return await denier(scope, receive, send)


class SessionUser:
    """Puts the session cookie's user (scope["user"]; AnonymousUser without a valid session) and the session
    key (scope["session_key"], for the consumer's re-checks) into the scope, as Django's auth would find
    them (apps/accounts/async_identity.py: on the event loop, without a thread, in the common case).
    Instead of Channels' AuthMiddlewareStack, whose lookup ran on the one thread asgiref shares with every
    other caller (a thousand sockets opening at once queued behind each other) and whose session wrapper
    inspected every message the consumer sent (bench/README.md, "Fan-out")."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        session_key = session_key_of(scope)
        user = await auser_of_session_key(session_key)
        scope = {**scope, "user": user if user is not None else AnonymousUser(), "session_key": session_key}
        return await self.application(scope, receive, send)


def websocket_application() -> Any:
    return SameOriginValidator(SessionUser(URLRouter(websocket_urlpatterns)))
