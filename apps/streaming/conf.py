"""Streaming settings with defaults (override in Django settings or the environment)."""

from __future__ import annotations

import os

from django.conf import settings


def _number(name: str, default: float) -> float:
    if hasattr(settings, name):
        return float(getattr(settings, name))
    raw = os.environ.get(name)
    return float(raw) if raw else default


def stream_interval_s() -> float:
    """How often the websocket sends each client the changes it has collected."""
    return _number("CITYTWIN_STREAM_INTERVAL_S", 0.25)


def max_message_chars() -> int:
    """The longest client message the consumer reads (a subscribe is a few hundred characters). Longer ones
    are answered with an error `too_large`, unread. Frames past the server's own limit (uvicorn's
    --ws-max-size, 16 MiB by default) never reach the application: the server closes the socket with 1009."""
    return int(_number("CITYTWIN_WS_MAX_MESSAGE_CHARS", 64 * 1024))


def recheck_s() -> float:
    """How often an open websocket re-reads its session and user and ends the subscriptions the user may no
    longer have, besides the immediate check when an account change is announced (a lossy channel layer
    can drop that announcement; an edit made in the shell sends none)."""
    return _number("CITYTWIN_WS_RECHECK_S", 60.0)
