"""Streaming settings with defaults (override in Django settings or the environment)."""

from __future__ import annotations

import os

from django.conf import settings


def _int(name: str, default: int) -> int:
    if hasattr(settings, name):
        return int(getattr(settings, name))
    raw = os.environ.get(name)
    return int(raw) if raw else default


def max_message_chars() -> int:
    """The longest client message the consumer reads (a subscribe is a few hundred characters). Longer ones
    are answered with an error `too_large`, unread. Frames past the server's own limit (uvicorn's
    --ws-max-size, 16 MiB by default) never reach the application: the server closes the socket with 1009."""
    return _int("CITYTWIN_WS_MAX_MESSAGE_CHARS", 64 * 1024)
