"""Job settings with defaults (override in Django settings)."""

from __future__ import annotations

from django.conf import settings


def lease_seconds() -> float:
    """A running job renews its lease this often x3; a job whose lease ran out may be taken over."""
    return float(getattr(settings, "CITYTWIN_JOB_LEASE_S", 60))


def max_active_per_user() -> int:
    """Queued + running jobs of one kind one person may have at once (admins included)."""
    return int(getattr(settings, "CITYTWIN_JOBS_PER_USER", 3))


def progress_interval_s() -> float:
    """Progress is written and streamed at most this often per job (the last update always is)."""
    return float(getattr(settings, "CITYTWIN_JOB_PROGRESS_INTERVAL_S", 0.5))


def max_attempts() -> int:
    """How many times a job is started before a worker that keeps dying fails it."""
    return int(getattr(settings, "CITYTWIN_JOB_MAX_ATTEMPTS", 3))


MAX_LOG_CHARS = 100_000
