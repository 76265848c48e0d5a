"""App settings with defaults: a Django setting wins, then the environment, then the default."""

from __future__ import annotations

import os

from django.conf import settings


def setting_list(name: str, default: list[str]) -> list[str]:
    if hasattr(settings, name):
        return list(getattr(settings, name))
    raw = os.environ.get(name)
    if raw is not None:
        return [v.strip() for v in raw.split(",") if v.strip()]
    return default


def local_time_zone() -> str:
    """The city's time zone (IANA name): local times in count files and scenario windows are read in it."""
    configured = getattr(settings, "CITYTWIN_LOCAL_TIMEZONE", None)
    if configured:
        return str(configured)
    return os.environ.get("CITYTWIN_LOCAL_TIMEZONE") or "Europe/Helsinki"
