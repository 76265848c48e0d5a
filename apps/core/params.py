"""Query parameters every API view reads the same way: a time with its zone, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


def query_time(request: Request, name: str, default: datetime) -> datetime:
    """The ISO 8601 time `name` (with a zone) in UTC, or `default` when absent; a 400 naming it otherwise.
    In UTC because PostgreSQL refuses offsets beyond +-15:59, which Python reads (up to +-23:59)."""
    raw = request.query_params.get(name)
    if not raw:
        return default
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationError({name: f"not an ISO 8601 time: {raw[:40]!r}"}) from exc
    if value.tzinfo is None:
        raise ValidationError({name: "needs a time zone, e.g. 2026-11-23T08:00:00Z"})
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValidationError({name: f"out of range: {raw[:40]!r}"}) from exc
