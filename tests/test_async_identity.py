"""The websockets' session lookup (apps/accounts/async_identity.py) names the same user as Django's own
(identity.user_of_session_key) in every state a session can be in, and leaves the same session behind."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connections

from apps.accounts import async_identity
from apps.accounts.models import Role, User
from apps.accounts.services import create_user

# The async lookup reads over its own connections: what it reads must be committed.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _signed_in(username: str, role: str = Role.OPERATOR) -> tuple[User, str]:
    user = create_user(username=username, password="unused-password-123", role=role)
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return user, str(store.session_key)


async def _both(session_key: str | None) -> tuple[Any, Any]:
    """(the async lookup's user, Django's: identity.user_of_session_key) for the same key, the async one first."""
    mine = await async_identity.auser_of_session_key(session_key)
    django = await sync_to_async(async_identity._user_of_session_key_released, thread_sensitive=False)(session_key)
    return mine, django


def _who(user: Any) -> tuple[Any, bool, str]:
    return (getattr(user, "pk", None), bool(user and user.is_authenticated), str(getattr(user, "role", "")))


async def _close_pools() -> None:
    """The lookup's pool of this test's loop, and the connection of asgiref's shared thread (the test's own
    ORM calls ran there): the test database is dropped at the end."""
    loop = asyncio.get_running_loop()
    pool = async_identity._pools.pop(loop, None)
    if pool is not None:
        await pool.close()
    await sync_to_async(connections.close_all)()


async def test_a_live_session_names_its_user_with_the_current_role_and_without_a_thread(monkeypatch) -> None:  # noqa: ANN001
    user, key = await sync_to_async(_signed_in)("aid-live")
    threads: list[str] = []
    real = async_identity._in_thread

    async def counted(session_key: str) -> Any:
        threads.append(session_key)
        return await real(session_key)

    monkeypatch.setattr(async_identity, "_in_thread", counted)
    try:
        mine, django = await _both(key)
        assert _who(mine) == _who(django) == (user.pk, True, Role.OPERATOR)
        assert threads == []  # answered on the event loop
        await sync_to_async(User.objects.filter(pk=user.pk).update)(role=Role.PLANNER)
        mine, django = await _both(key)
        assert _who(mine) == _who(django) == (user.pk, True, Role.PLANNER)
        assert threads == []
    finally:
        await _close_pools()


@pytest.mark.parametrize("change", ["deactivated", "password_changed", "logged_out", "expired", "forged"])
async def test_a_session_that_no_longer_names_a_user_reads_as_django_reads_it(change: str) -> None:
    user, key = await sync_to_async(_signed_in)(f"aid-{change}")

    def apply(user: User, key: str) -> None:
        if change == "deactivated":
            User.objects.filter(pk=user.pk).update(is_active=False)
        elif change == "password_changed":
            user.set_password("another-password-456")
            user.save()
        elif change == "logged_out":
            Session.objects.filter(session_key=key).delete()
        elif change == "expired":
            Session.objects.filter(session_key=key).update(expire_date="2000-01-01T00:00:00Z")
        else:  # a session row whose data was not signed with our secret
            Session.objects.filter(session_key=key).update(session_data="not-signed-by-us")

    await sync_to_async(apply)(user, key)
    try:
        mine = await async_identity.auser_of_session_key(key)
        left_mine = await sync_to_async(Session.objects.filter(session_key=key).exists)()
    finally:
        await _close_pools()
    assert not mine.is_authenticated
    # Django's own lookup on a fresh copy of the same state leaves the same session behind (a password
    # change flushes it; a deactivation keeps it).
    user2, key2 = await sync_to_async(_signed_in)(f"aid-{change}-django")
    await sync_to_async(apply)(user2, key2)
    django = await sync_to_async(async_identity._user_of_session_key_released, thread_sensitive=False)(key2)
    left_django = await sync_to_async(Session.objects.filter(session_key=key2).exists)()
    await _close_pools()
    assert not django.is_authenticated
    assert left_mine == left_django


async def test_no_key_and_an_unknown_key() -> None:
    try:
        assert await async_identity.auser_of_session_key(None) is None
        assert await async_identity.auser_of_session_key("") is None
        unknown = await async_identity.auser_of_session_key("no-such-session-key-0123456789")
        assert unknown is not None and not unknown.is_authenticated
    finally:
        await _close_pools()


@pytest.mark.parametrize("change", ["deactivated", "password_changed", "logged_out", "expired", "forged", "role"])
async def test_a_session_read_before_reads_its_change_at_the_next_lookup(change: str) -> None:
    """A key looked up before takes the one-round-trip path (the user it named last time, read with the
    session row): what changed since shows at once, as Django's own lookup shows it."""
    user, key = await sync_to_async(_signed_in)(f"aid-again-{change}")

    def apply() -> None:
        if change == "deactivated":
            User.objects.filter(pk=user.pk).update(is_active=False)
        elif change == "password_changed":
            user.set_password("another-password-456")
            user.save()
        elif change == "logged_out":
            Session.objects.filter(session_key=key).delete()
        elif change == "expired":
            Session.objects.filter(session_key=key).update(expire_date="2000-01-01T00:00:00Z")
        elif change == "forged":
            Session.objects.filter(session_key=key).update(session_data="not-signed-by-us")
        else:
            User.objects.filter(pk=user.pk).update(role=Role.GIS_STAFF)

    try:
        for _ in range(2):
            assert _who(await async_identity.auser_of_session_key(key)) == (user.pk, True, Role.OPERATOR)
        await sync_to_async(apply)()
        mine = await async_identity.auser_of_session_key(key)
        django = await sync_to_async(async_identity._user_of_session_key_released, thread_sensitive=False)(key)
    finally:
        await _close_pools()
    assert _who(mine) == _who(django)
    assert _who(mine) == ((user.pk, True, Role.GIS_STAFF) if change == "role" else (None, False, ""))


async def test_a_session_whose_data_now_names_another_user_names_that_user() -> None:
    """The user a key named last time is only a guess: the session's data decides."""
    first, key = await sync_to_async(_signed_in)("aid-first")
    second, second_key = await sync_to_async(_signed_in)("aid-second", role=Role.PLANNER)

    def give_first_key_the_second_users_data() -> None:
        data = Session.objects.get(session_key=second_key).session_data
        Session.objects.filter(session_key=key).update(session_data=data)

    try:
        assert _who(await async_identity.auser_of_session_key(key)) == (first.pk, True, Role.OPERATOR)
        await sync_to_async(give_first_key_the_second_users_data)()
        mine, django = await _both(key)
    finally:
        await _close_pools()
    assert _who(mine) == _who(django) == (second.pk, True, Role.PLANNER)


async def test_lookups_made_together_each_name_their_own_sessions_user() -> None:
    """Concurrent lookups share round trips (apps/core/read_batcher.py): each still gets its own session's
    answer, whatever state the others' sessions are in."""
    live = [await sync_to_async(_signed_in)(f"aid-many-{i}", role=role) for i, role in enumerate(Role.values[:4])]
    _, logged_out = await sync_to_async(_signed_in)("aid-many-out")
    gone, deactivated = await sync_to_async(_signed_in)("aid-many-off")

    def change() -> None:
        Session.objects.filter(session_key=logged_out).delete()
        User.objects.filter(pk=gone.pk).update(is_active=False)

    await sync_to_async(change)()
    keys = [key for _, key in live] + [logged_out, deactivated, "no-such-session-key-0123456789"]
    try:
        for _ in range(2):  # first sight of each key, then the one-round-trip path
            found = await asyncio.gather(*(async_identity.auser_of_session_key(key) for key in keys * 3))
            assert [_who(user) for user in found] == [
                *[(user.pk, True, user.role) for user, _ in live],
                (None, False, ""),
                (None, False, ""),
                (None, False, ""),
            ] * 3
    finally:
        await _close_pools()
