"""API throttling: anonymous clients by address, signed-in users (people and machine accounts) by account.

DRF's throttles read their rates once, at import; these read REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] on
each request, so a deployment (or a test) can change them in settings. Counters live in the shared cache
(Redis), so every web process counts against the same budget."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _SettingsRate:
    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_SettingsRate, AnonRateThrottle):
    """Requests without credentials, per client address."""


class UserThrottle(_SettingsRate, UserRateThrottle):
    """Requests with credentials, per account (anonymous ones fall back to the address)."""
