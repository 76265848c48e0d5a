"""Demo feed settings with defaults (override in Django settings or the environment)."""

from __future__ import annotations

import os

from django.conf import settings


def _setting(name: str, default: str) -> str:
    if hasattr(settings, name):
        return str(getattr(settings, name))
    return os.environ.get(name) or default


def local_timezone() -> str:
    """The city's time zone: demand, load profiles and the weather follow local time of day, while
    readings are stamped in UTC. The demo city is Helsinki."""
    return _setting("CITYTWIN_LOCAL_TIMEZONE", "Europe/Helsinki")
