"""Telemetry settings with defaults (override in Django settings or the environment)."""

from __future__ import annotations

import os
from datetime import timedelta

from django.conf import settings


def _number(name: str, default: float) -> float:
    if hasattr(settings, name):
        return float(getattr(settings, name))
    raw = os.environ.get(name)
    return float(raw) if raw else default


def max_future() -> timedelta:
    """A device clock may run ahead this much; later readings are quarantined."""
    return timedelta(seconds=_number("CITYTWIN_READING_MAX_FUTURE_S", 300))


def max_past() -> timedelta:
    """Older readings are quarantined (a device replaying its buffer after a long outage: raise this)."""
    return timedelta(seconds=_number("CITYTWIN_READING_MAX_PAST_S", 7 * 24 * 3600))


def max_payload_bytes() -> int:
    return int(_number("CITYTWIN_READING_MAX_PAYLOAD", 16 * 1024))


def raw_retention_days() -> int:
    return int(_number("CITYTWIN_RAW_RETENTION_DAYS", 90))


def stale_after_s() -> int:
    """A sensor whose latest reading is older than this shows as stale on the live map."""
    return int(_number("CITYTWIN_STALE_AFTER_S", 300))


def mqtt_share_group() -> str:
    """The MQTT shared-subscription group of the ingest workers ("": none, one worker takes everything)."""
    name = "CITYTWIN_MQTT_SHARE_GROUP"
    return str(getattr(settings, name)) if hasattr(settings, name) else os.environ.get(name, "")
