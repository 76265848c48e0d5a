"""API throttling: anonymous clients by address, signed-in users (people and machine accounts) by account.

A fixed window per client that opens with its first request: one Redis round trip per request (SET NX with
the window's expiry, then INCR, pipelined). DRF's own throttles keep a list of every request's time in the
cache and read and rewrite it whole on each request (twice for an anonymous client, which its user throttle
also counts): at 600/min that list grows to 600 entries, and the throttles cost more than the rest of a
small list request (bench/README.md, "GeoJSON lists").

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] on each request, so a deployment (or a test) can
change them in settings. Counters live in the shared cache (Redis), so every web process counts against
the same budget."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

DURATIONS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/min' -> (600, 60): requests allowed and the window in seconds (DRF's notation)."""
    count, period = rate.split("/")
    return int(count), DURATIONS[period[0]]


class _WindowThrottle(BaseThrottle):
    scope: str

    def __init__(self) -> None:
        self.retry_after: int | None = None

    def ident_of(self, request: Any) -> str | None:
        """Whom this throttle counts for the request, or None when it does not apply."""
        raise NotImplementedError

    def allow_request(self, request: Any, view: Any) -> bool:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        ident = self.ident_of(request)
        if rate is None or ident is None:
            return True
        allowed, window = parse_rate(rate)
        key = cache.make_and_validate_key(f"throttle:{self.scope}:{ident}")
        client = cache._cache.get_client(key, write=True)  # type: ignore[attr-defined]  # RedisCache: the redis-py client
        pipe = client.pipeline(transaction=False)
        pipe.set(key, 0, ex=window, nx=True)
        pipe.incr(key)
        _, seen = pipe.execute()
        if int(seen) <= allowed:
            return True
        self.retry_after = max(1, int(client.ttl(key)))
        return False

    def wait(self) -> float | None:
        return self.retry_after


class AnonThrottle(_WindowThrottle):
    """Requests without credentials, per client address."""

    scope = "anon"

    def ident_of(self, request: Any) -> str | None:
        return None if request.user.is_authenticated else self.get_ident(request)


class UserThrottle(_WindowThrottle):
    """Requests with credentials, per account."""

    scope = "user"

    def ident_of(self, request: Any) -> str | None:
        return str(request.user.pk) if request.user.is_authenticated else None
