"""Simulation settings with defaults (override in Django settings or the environment)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings


def _setting(name: str, default: str) -> str:
    if hasattr(settings, name):
        return str(getattr(settings, name))
    return os.environ.get(name) or default


def cache_root() -> Path:
    """Where built SUMO networks live, one folder per hash of the stored road graph. Rebuilding is cheap
    (seconds) but not free, and the demo feed, the sensor command and (next) scenario runs need the same network."""
    return Path(_setting("CITYTWIN_SUMO_CACHE", str(Path(settings.BASE_DIR) / "var" / "sumo")))
