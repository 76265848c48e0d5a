"""Privacy settings with defaults: a Django setting wins, then the environment, then the default.
docs/privacy.md explains each."""

from __future__ import annotations

import os
from datetime import timedelta

from django.conf import settings


def _number(name: str, default: float) -> float:
    if hasattr(settings, name):
        return float(getattr(settings, name))
    raw = os.environ.get(name)
    return float(raw) if raw else default


def _text(name: str, default: str) -> str:
    if hasattr(settings, name):
        return str(getattr(settings, name))
    return os.environ.get(name) or default


def k_threshold() -> int:
    """A cell-hour of personal data aggregating fewer distinct sources than this is suppressed."""
    return int(_number("CITYTWIN_PRIVACY_K", 10))


def h3_resolution() -> int:
    """The one H3 resolution of the public partition. 8 (hexagons of ~0.74 km², edge ~460 m) is close to the
    demo city's 500 m grid districts and holds enough meters per cell to pass k; 9 (~0.1 km²) would leave
    most cells of central Helsinki below k."""
    return int(_number("CITYTWIN_PRIVACY_H3_RES", 8))


def max_window() -> timedelta:
    """The longest window one public request may ask for."""
    return timedelta(days=_number("CITYTWIN_PRIVACY_MAX_WINDOW_DAYS", 31))


def settle_after() -> timedelta:
    """An hour is published only once it ended this long ago: readings still arriving would otherwise
    change a published hour, and two answers for the same hour differ by the late sources alone."""
    return timedelta(seconds=_number("CITYTWIN_PRIVACY_SETTLE_S", 900))


def cache_seconds() -> int:
    """How long a release stays in the cache (a DP release served again costs no budget)."""
    return int(_number("CITYTWIN_PRIVACY_CACHE_S", 60))


def epsilon_per_hour() -> float:
    """Differential privacy: the epsilon one hour of one source costs in a release (half for the values,
    half for the counts). A release of H hours costs H times this (a source is in one cell per hour)."""
    return _number("CITYTWIN_PRIVACY_EPSILON_PER_HOUR", 0.5)


def epsilon_budget(dataset: str) -> float:
    """The total epsilon all DP releases of a dataset may spend; CITYTWIN_PRIVACY_BUDGET_<DATASET> wins."""
    return _number(f"CITYTWIN_PRIVACY_BUDGET_{dataset.upper()}", _number("CITYTWIN_PRIVACY_BUDGET", 100.0))


def licence() -> str:
    return _text("CITYTWIN_PRIVACY_LICENCE", "CC-BY-4.0")


def attribution() -> str:
    return _text(
        "CITYTWIN_PRIVACY_ATTRIBUTION",
        "Sensor aggregates: CityTwin demo city (CC BY 4.0). Districts and map data: (c) OpenStreetMap "
        "contributors (ODbL).",
    )
