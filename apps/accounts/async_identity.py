"""The user a session key names, from async code, without a thread in the common case: for websockets,
which open by the thousand (a reconnect after a deploy) and re-check their session every minute.

Django's own lookup (identity.user_of_session_key) is synchronous: from the event loop it needs a thread, and
1,000 lookups in threads competed with the loop for the GIL (bench/bench_fanout.py: 4.5 of the server's 10
CPU-seconds while 2,000 sockets opened). Here the two reads it makes (the session row, the user row) go to
PostgreSQL on an async connection, and Django's own code does the rest: SessionStore.decode (signature,
salt), the backend's user_can_authenticate, the user's get_session_auth_hash.

Only the common case is answered here: a live session of the database engine whose auth hash verifies
against the current secret, naming an active user through a ModelBackend. Anything else (no such session,
expired, another session engine or backend, an unverified hash, whose handling may flush the session or cycle
its key, an inactive user, the database unreachable from here) goes to Django's lookup in a thread, which
decides exactly as for an HTTP request."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from apps.core.async_db import connection_kwargs

from .identity import user_of_session_key

log = logging.getLogger(__name__)
_pools: dict[asyncio.AbstractEventLoop, AsyncConnectionPool[AsyncConnection[Any]]] = {}
_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}


def _user_of_session_key_released(session_key: str) -> Any:
    try:
        return user_of_session_key(session_key)
    finally:
        if not connection.in_atomic_block:  # (a test's transaction stays open)
            close_old_connections()  # back to the pool, as Django does when a request ends


async def _in_thread(session_key: str) -> Any:
    # Not asgiref's default (thread_sensitive): that runs every caller of the process on ONE thread.
    return await sync_to_async(_user_of_session_key_released, thread_sensitive=False)(session_key)


async def _pool() -> AsyncConnectionPool[AsyncConnection[Any]]:
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is not None:
        return pool
    lock = _locks.setdefault(loop, asyncio.Lock())
    async with lock:
        pool = _pools.get(loop)
        if pool is None:
            for old in [lp for lp in _pools if lp.is_closed()]:
                _pools.pop(old, None)
                _locks.pop(old, None)
            pool = AsyncConnectionPool(
                kwargs=connection_kwargs(),
                min_size=1,
                max_size=int(settings.CITYTWIN_SESSION_POOL_SIZE),
                open=False,
                name="session-lookup",
            )
            await pool.open()
            _pools[loop] = pool
    return pool


def _answers_here() -> bool:
    """The session engine and every auth backend are the ones whose reads this module repeats."""
    engine = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    if engine is not DbSessionStore:
        return False
    for path in settings.AUTHENTICATION_BACKENDS:
        backend = import_string(path)
        if not issubclass(backend, ModelBackend) or backend.get_user is not ModelBackend.get_user:
            return False
    return True


async def _verified_user(session_key: str) -> Any:
    """The user of a live, verified session with an active user; None for anything else (Django decides)."""
    from django.contrib.sessions.models import Session

    user_model = get_user_model()
    pool = await _pool()
    async with pool.connection() as conn:
        cur = await conn.execute(
            f'SELECT session_data FROM "{Session._meta.db_table}" WHERE session_key = %s AND expire_date > %s',
            (session_key, timezone.now()),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        session = DbSessionStore(session_key=session_key).decode(row[0])  # {} when the signature fails
        try:
            user_id = user_model._meta.pk.to_python(session[SESSION_KEY])  # type: ignore[union-attr]
            backend_path = session[BACKEND_SESSION_KEY]
        except (KeyError, ValidationError):
            return None
        if backend_path not in settings.AUTHENTICATION_BACKENDS:
            return None
        fields = user_model._meta.concrete_fields
        columns = ", ".join(f'"{field.column}"' for field in fields)
        pk_column = user_model._meta.pk.column  # type: ignore[union-attr]
        cur = await conn.execute(
            f'SELECT {columns} FROM "{user_model._meta.db_table}" WHERE "{pk_column}" = %s', (user_id,)
        )
        values = await cur.fetchone()
    if values is None:
        return None
    user = user_model.from_db("default", [field.attname for field in fields], list(values))
    if not load_backend(backend_path).user_can_authenticate(user):  # type: ignore[attr-defined]
        return None
    session_hash = session.get(HASH_SESSION_KEY)
    if not session_hash or not constant_time_compare(session_hash, user.get_session_auth_hash()):
        return None
    return user


async def auser_of_session_key(session_key: str | None) -> Any:
    """As identity.user_of_session_key (None without a key, AnonymousUser for a session that names nobody
    who may sign in now), from async code."""
    if not session_key:
        return None
    if _answers_here():
        try:
            user = await _verified_user(session_key)
        except Exception:  # noqa: BLE001 - unreachable from here (pool, network): Django's lookup decides
            log.warning("session lookup: async read failed; asking Django in a thread", exc_info=True)
            user = None
        if user is not None:
            return user
    return await _in_thread(session_key)
