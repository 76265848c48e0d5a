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
decides exactly as for an HTTP request.

Lookups made together share their round trips (apps/core/read_batcher.py): a thousand sockets opening at
once cost a few statements over arrays of keys, not two thousand single-row ones. A key seen before costs one
read, not two: the session row and the user row its data named last time come back in one statement, and
the user row counts only if the data (read in the same statement) still names that user. Nothing about who a session names is kept between lookups: a role change, a deactivation or
a logout shows in the very next one. What is kept is pure arithmetic on values read each time: the decoded
session data by its signed text (same text and secrets, same result) and the auth hash by the password field
it is computed from."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection, connections
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from apps.core.async_db import connection_kwargs
from apps.core.read_batcher import ReadBatcher

from .identity import user_of_session_key

log = logging.getLogger(__name__)
_pools: dict[asyncio.AbstractEventLoop, AsyncConnectionPool[AsyncConnection[Any]]] = {}
_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
# Bounded memo tables (oldest entry out first). Each maps inputs to what Django's own code computes from them.
MEMO_SIZE = 4096
_decoded: dict[tuple[Any, ...], dict[str, Any]] = {}  # (signed data, secrets, serializer) -> decoded data
_auth_hashes: dict[tuple[str, str], str] = {}  # (password field, secret) -> session auth hash
# session key -> the user id its data named when last read: a guess that saves a round trip, never trusted
_named: dict[str, Any] = {}
_answering: dict[tuple[str, tuple[str, ...]], bool] = {}  # (engine, backends) -> _answers_here()
# Per event loop: concurrent lookups share round trips (apps/core/read_batcher.py).
_readers_by_loop: dict[asyncio.AbstractEventLoop, _Readers] = {}


def _remember(table: dict[Any, Any], key: Any, value: Any) -> None:
    if len(table) >= MEMO_SIZE:
        del table[next(iter(table))]
    table[key] = value


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
    key = (settings.SESSION_ENGINE, tuple(settings.AUTHENTICATION_BACKENDS))
    answer = _answering.get(key)
    if answer is None:
        answer = import_string(f"{key[0]}.SessionStore") is DbSessionStore and all(
            issubclass(backend, ModelBackend) and backend.get_user is ModelBackend.get_user
            for backend in map(import_string, key[1])
        )
        _remember(_answering, key, answer)
    return answer


def _decode(session_key: str, data: str) -> dict[str, Any]:
    """DbSessionStore.decode (signature, salt, serializer), remembered by the signed text: the result depends on
    nothing else but the secrets and the serializer, which are part of the key. A failure is not remembered."""
    key = (data, settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS), settings.SESSION_SERIALIZER)
    session = _decoded.get(key)
    if session is None:
        session = DbSessionStore(session_key=session_key).decode(data)  # {} when the signature fails
        if session:
            _remember(_decoded, key, session)
    return session


def _auth_hash(user: Any) -> str:
    """user.get_session_auth_hash(), remembered by the password field and secret it is an HMAC of (Django's
    own method only; a model that overrides it is asked every time)."""
    if type(user).get_session_auth_hash is not AbstractBaseUser.get_session_auth_hash:
        return str(user.get_session_auth_hash())
    key = (str(user.password), str(settings.SECRET_KEY))
    value = _auth_hashes.get(key)
    if value is None:
        value = user.get_session_auth_hash()
        _remember(_auth_hashes, key, value)
    return value


class _Statements:
    """The two reads, for the user model in use. Each takes many keys (arrays) and numbers them."""

    def __init__(self) -> None:
        from django.contrib.sessions.models import Session

        self.user_model = user_model = get_user_model()
        fields = user_model._meta.concrete_fields
        self.attnames = [field.attname for field in fields]
        pk = user_model._meta.pk
        assert pk is not None
        pk_type = pk.rel_db_type(connections["default"])
        user_table, columns = user_model._meta.db_table, ", ".join(f'u."{field.column}"' for field in fields)
        self.pk_index = [field.column for field in fields].index(pk.column)
        # (session key, the user id its data named last time or NULL) -> the live session's data and that
        # user's row (NULLs for no guess or no such user)
        self.sessions = (
            f"SELECT k.n, s.session_data, {columns} "
            f"FROM unnest(%s::text[], %s::{pk_type}[]) WITH ORDINALITY AS k(session_key, guess, n) "
            f'JOIN "{Session._meta.db_table}" s ON s.session_key = k.session_key AND s.expire_date > %s '
            f'LEFT JOIN "{user_table}" u ON u."{pk.column}" = k.guess'
        )
        self.users = (
            f"SELECT k.n, {columns} FROM unnest(%s::{pk_type}[]) WITH ORDINALITY AS k(id, n) "
            f'JOIN "{user_table}" u ON u."{pk.column}" = k.id'
        )


class _Readers:
    def __init__(self) -> None:
        self.statements = _Statements()
        self.sessions = ReadBatcher(self._fetch_sessions)
        self.users = ReadBatcher(self._fetch_users)

    async def _fetch_sessions(self, keys: list[tuple[str, Any]]) -> dict[tuple[str, Any], tuple[Any, ...]]:
        pool = await _pool()
        params = ([key for key, _ in keys], [guess for _, guess in keys], timezone.now())
        async with pool.connection() as conn:
            rows = await (await conn.execute(self.statements.sessions, params)).fetchall()
        return {keys[row[0] - 1]: row[1:] for row in rows}

    async def _fetch_users(self, ids: list[Any]) -> dict[Any, tuple[Any, ...]]:
        pool = await _pool()
        async with pool.connection() as conn:
            rows = await (await conn.execute(self.statements.users, (ids,))).fetchall()
        return {ids[row[0] - 1]: row[1:] for row in rows}


def _readers() -> _Readers:
    loop = asyncio.get_running_loop()
    readers = _readers_by_loop.get(loop)
    if readers is None or readers.statements.user_model is not get_user_model():
        for old in [lp for lp in _readers_by_loop if lp.is_closed()]:
            del _readers_by_loop[old]
        readers = _readers_by_loop[loop] = _Readers()
    return readers


async def _verified_user(session_key: str) -> Any:
    """The user of a live, verified session with an active user; None for anything else (Django decides)."""
    readers = _readers()
    guess = _named.get(session_key)
    row = await readers.sessions.get((session_key, guess))
    if row is None:
        _named.pop(session_key, None)
        return None
    session = _decode(session_key, row[0])
    user_model = readers.statements.user_model
    try:
        user_id = user_model._meta.pk.to_python(session[SESSION_KEY])  # type: ignore[union-attr]
        backend_path = session[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return None
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    if guess is not None and user_id == guess:
        # read with the session row; a NULL primary key: no such user
        values = None if row[1 + readers.statements.pk_index] is None else row[1:]
    else:
        values = await readers.users.get(user_id)
        _remember(_named, session_key, user_id)
    if values is None:
        return None
    user = user_model.from_db("default", readers.statements.attnames, list(values))
    if not load_backend(backend_path).user_can_authenticate(user):  # type: ignore[attr-defined]
        return None
    session_hash = session.get(HASH_SESSION_KEY)
    if not session_hash or not constant_time_compare(session_hash, _auth_hash(user)):
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
