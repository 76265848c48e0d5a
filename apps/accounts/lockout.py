"""Locking out repeated failed sign-ins, for a while.

Failures are counted per (account name, client address) and per client address, in the shared cache
(Redis), so all web processes see them. After CITYTWIN_LOGIN_MAX_FAILURES failures for one account from
one address, that pair is locked for CITYTWIN_LOGIN_LOCKOUT_S seconds (from the last failure): the right
password is refused too. An address that fails CITYTWIN_LOGIN_MAX_FAILURES_PER_IP times across accounts
is locked for all of them (password spraying). Keying accounts by address as well means that someone
elsewhere cannot lock a person out of their own account by guessing wrong on purpose."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


def max_failures() -> int:
    return int(getattr(settings, "CITYTWIN_LOGIN_MAX_FAILURES", 5))


def max_failures_per_ip() -> int:
    return int(getattr(settings, "CITYTWIN_LOGIN_MAX_FAILURES_PER_IP", 30))


def lockout_seconds() -> int:
    return int(getattr(settings, "CITYTWIN_LOGIN_LOCKOUT_S", 15 * 60))


@dataclass(frozen=True)
class Lock:
    minutes: int

    @property
    def message(self) -> str:
        unit = "minute" if self.minutes == 1 else "minutes"
        return f"Too many failed sign-in attempts. Try again in {self.minutes} {unit}."


def _keys(username: str, ip: str) -> tuple[str, str]:
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"login-fail:account:{account}:{ip}", f"login-fail:ip:{ip}"


def lock_for(*, username: str, ip: str) -> Lock | None:
    """The lock on this sign-in, or None when it may be tried."""
    account_key, ip_key = _keys(username, ip)
    counts = cache.get_many([account_key, ip_key])
    if counts.get(account_key, 0) < max_failures() and counts.get(ip_key, 0) < max_failures_per_ip():
        return None
    ttl = getattr(cache, "ttl", None)
    remaining = lockout_seconds()
    if callable(ttl):  # django-redis has ttl(); Django's own Redis cache does not: assume the full lockout
        remaining = max(ttl(account_key) or 0, ttl(ip_key) or 0) or remaining
    return Lock(minutes=max(1, -(-remaining // 60)))


def record_failure(*, username: str, ip: str) -> None:
    for key, limit in zip(_keys(username, ip), (max_failures(), max_failures_per_ip()), strict=True):
        cache.add(key, 0, timeout=lockout_seconds())
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, timeout=lockout_seconds())
            count = 1
        if count >= limit:  # the lock runs from the last failure
            cache.set(key, count, timeout=lockout_seconds())


def clear(*, username: str, ip: str) -> None:
    """After a successful sign-in the account's count starts again (the address's count does not)."""
    account_key, _ = _keys(username, ip)
    cache.delete(account_key)
