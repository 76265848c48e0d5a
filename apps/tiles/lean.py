"""The lean path for GET/HEAD /tiles/<layer>/<z>/<x>/<y>.pbf: an ASGI app in front of Django (city/asgi.py).

A cached tile through Django cost ~7 ms in process, against ~0.3 ms for uvicorn to send the same bytes
(bench/README.md: the ASGI handler's thread hops, the middleware, and two Redis round trips each building
a new redis client). This path answers the requests it can decide alone, with the same bytes and headers
as apps/tiles/views.py (tests/test_tiles_lean.py compares them), and hands everything else to Django:
- methods other than GET/HEAD, unknown layers, bad coordinates (Django's 405/404/400 JSON), scenario run
  tiles, hosts Django would refuse, plain-HTTP requests when SECURE_SSL_REDIRECT is on, and any error here;
- the role rule of a private layer (assets): a request without credentials reads as the public; one with a
  session cookie or an API token is resolved the way Django would (apps/accounts/identity.py), off the event
  loop, then served here too.
Tiles come from the in-process LRU, else Redis (apps/tiles/cache.py), else PostGIS through an async psycopg
pool (the layer's own SQL), and are cached like the view caches them. The response carries the headers
Django's middleware puts on a tile (security, CSP, X-Frame-Options) plus the view's own (ETag, caching,
Vary, CORS)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection
from django.http.request import split_domain_port, validate_host
from psycopg import AsyncClientCursor, AsyncConnection
from psycopg_pool import AsyncConnectionPool

from apps.accounts.identity import user_of_session, user_of_token
from apps.accounts.permissions import reads_as_public
from apps.core.async_db import connection_kwargs
from apps.core.middleware import DEFAULT_POLICY

from . import cache as tile_cache
from .layers import LAYERS, TileLayer
from .views import MAX_ZOOM, MVT

log = logging.getLogger(__name__)

Scope = dict[str, Any]
ASGIApp = Callable[..., Awaitable[None]]
PATH = re.compile(r"/tiles/([a-z]+)/(\d{1,2})/(\d{1,10})/(\d{1,10})\.pbf")


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case name; repeated ones joined as Django joins them (Cookie with
    "; ", the rest with ","), so a repeated Host fails the host check as it does in Django."""
    found: dict[bytes, bytes] = {}
    for key, value in scope["headers"]:
        name = key.lower()
        if name in found:
            value = found[name] + (b"; " if name == b"cookie" else b",") + value
        found[name] = value
    return found


class LeanTiles:
    """ASGI app: serve a tile without Django when it can be decided here, else call `fallback`."""

    def __init__(self, fallback: ASGIApp) -> None:
        self.fallback = fallback
        self.tiles = tile_cache.HotTiles()
        self._pool: AsyncConnectionPool[AsyncConnection[Any]] | None = None
        self._pool_loop: asyncio.AbstractEventLoop | None = None
        self._pool_lock: asyncio.Lock | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/tiles/"):
            await self.fallback(scope, receive, send)
            return
        try:
            reply = await self._reply(scope)
        except Exception:  # anything unexpected: Django answers (and logs) it the usual way
            log.exception("lean tile path failed for %s; Django answers", scope["path"])
            reply = None
        if reply is None:
            await self.fallback(scope, receive, send)
            return
        status, headers, body = reply
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _reply(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """(status, headers, body) of the answer, or None when Django must answer."""
        method = scope["method"]
        match = PATH.fullmatch(scope["path"])
        if method not in ("GET", "HEAD") or match is None:
            return None
        spec = LAYERS.get(match.group(1))
        z, x, y = int(match.group(2)), int(match.group(3)), int(match.group(4))
        if spec is None or z > MAX_ZOOM or x >= (1 << z) or y >= (1 << z):
            return None  # Django's 404/400
        headers = _headers(scope)
        secure = _is_secure(scope, headers)
        if not _host_allowed(headers) or (settings.SECURE_SSL_REDIRECT and not secure):
            return None
        if settings.DISALLOWED_USER_AGENTS:
            return None  # CommonMiddleware's check: rare, left to Django

        params = await self._params(spec, scope, headers, z, x, y)
        tile = await self._tile(spec, params, z, x, y)
        not_modified = headers.get(b"if-none-match") == tile.etag
        return (
            304 if not_modified else 200,
            self._response_headers(spec, tile, secure=secure, not_modified=not_modified),
            b"" if not_modified or method == "HEAD" else tile.data,
        )

    async def _params(
        self, spec: TileLayer, scope: Scope, headers: dict[bytes, bytes], z: int, x: int, y: int
    ) -> dict[str, Any]:
        if spec.public:
            return spec.params_for(z=z, x=x, y=y, public_reader=True)
        has_session = settings.SESSION_COOKIE_NAME.encode() in headers.get(b"cookie", b"")
        if not has_session and not headers.get(b"authorization", b"").lower().startswith(b"token "):
            return spec.params_for(z=z, x=x, y=y, public_reader=True)  # no credentials: the public's view
        # Django's thread for ORM calls, as Django itself would make them.
        authorization = headers.get(b"authorization", b"").decode("latin1")
        public = await sync_to_async(_reads_as_public, thread_sensitive=True)(scope, authorization)
        return spec.params_for(z=z, x=x, y=y, public_reader=public)

    async def _tile(self, spec: TileLayer, params: dict[str, Any], z: int, x: int, y: int) -> tile_cache.Tile:
        if z < spec.min_zoom:
            return EMPTY
        if not tile_cache.enabled():
            return tile_cache.Tile.of(await self._query(spec, params))
        key = tile_cache.tile_key(await self.tiles.version(), spec.name, spec.audience(params), z, x, y)
        tile = await self.tiles.get(key)
        if tile is None:
            tile = await self.tiles.put(key, await self._query(spec, params))
        return tile

    async def _query(self, spec: TileLayer, params: dict[str, Any]) -> bytes:
        pool = await self._get_pool()
        async with pool.connection() as conn:
            # The parameters bound client-side, as Django sends them: the same text, so the same plan and
            # bytes (server-side parameters gave generic plans that were no faster and changed the row order,
            # hence the bytes, of larger tiles). The result comes back binary: the tile's bytes as they are,
            # not hex text for the server to encode and psycopg to decode (small tiles 1.5x the tiles/s).
            text = AsyncClientCursor(conn).mogrify(spec.sql(), params)  # type: ignore[arg-type]
            cursor = conn.cursor()
            await cursor.execute(text, binary=True)  # type: ignore[arg-type]  # literal SQL, no parameters
            row = await cursor.fetchone()
        return bytes(row[0] or b"") if row else b""

    async def _get_pool(self) -> AsyncConnectionPool[AsyncConnection[Any]]:
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._pool_loop is loop:
            return self._pool
        if self._pool_lock is None or self._pool_loop is not loop:
            self._pool_lock, self._pool_loop, self._pool = asyncio.Lock(), loop, None
        async with self._pool_lock:
            if self._pool is None:
                pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
                    kwargs=connection_kwargs(),
                    min_size=1,
                    max_size=int(settings.CITYTWIN_TILE_POOL_SIZE),
                    open=False,
                    name="lean-tiles",
                )
                await pool.open()
                self._pool = pool
        return self._pool

    async def aclose(self) -> None:
        """Close the SQL pool (it belongs to the event loop that opened it)."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def _response_headers(
        self, spec: TileLayer, tile: tile_cache.Tile, *, secure: bool, not_modified: bool
    ) -> list[tuple[bytes, bytes]]:
        out = (
            [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", b"0")]
            if not_modified  # Django's bare HttpResponse(status=304), its length set by CommonMiddleware
            else [(b"content-type", MVT.encode()), (b"content-length", tile.length)]
        )
        out.append((b"etag", tile.etag))
        max_age = str(int(settings.CITYTWIN_TILE_MAX_AGE)).encode()
        if spec.public:
            out.append((b"cache-control", b"public, max-age=" + max_age))
            out.append((b"access-control-allow-origin", b"*"))
        else:
            out.append((b"cache-control", b"private, max-age=" + max_age))
            out.append((b"vary", b"Cookie, Authorization"))
        out.extend(_middleware_headers(secure))
        return out


EMPTY = tile_cache.Tile.of(b"")


def _reads_as_public(scope: Scope, authorization: str) -> bool:
    """As the view decides: the session's user, else the API token's."""
    try:
        user = user_of_session(scope)
        if user is None or not user.is_authenticated:
            user = user_of_token(authorization)
        return reads_as_public(user)
    finally:
        if not connection.in_atomic_block:  # (a test's transaction stays open)
            close_old_connections()  # back to the pool, as Django does when a request ends


def _is_secure(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        name = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
        if name in headers:
            return headers[name].decode("latin1").split(",")[0].strip() == proxy[1]
    return bool(scope.get("scheme") == "https")


def _host_allowed(headers: dict[bytes, bytes]) -> bool:
    """Django's get_host() check (CommonMiddleware calls it on every request); unsure means Django decides."""
    if settings.USE_X_FORWARDED_HOST or b"host" not in headers:
        return False
    domain, _port = split_domain_port(headers[b"host"].decode("latin1"))
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


def _middleware_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    """What SecurityMiddleware, the CSP middleware and XFrameOptionsMiddleware add to a tile response."""
    out: list[tuple[bytes, bytes]] = []
    if secure and settings.SECURE_HSTS_SECONDS:
        sts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        sts += "; includeSubDomains" if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS else ""
        sts += "; preload" if settings.SECURE_HSTS_PRELOAD else ""
        out.append((b"strict-transport-security", sts.encode()))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        out.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        value = policy if isinstance(policy, str) else ",".join(policy)
        out.append((b"referrer-policy", value.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        out.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    out.append((b"content-security-policy", getattr(settings, "CITYTWIN_CSP", DEFAULT_POLICY).encode()))
    out.append((b"x-frame-options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper().encode()))
    return out
