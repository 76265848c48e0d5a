"""Portal settings with defaults: a Django setting wins, then the environment, then the default."""

from __future__ import annotations

import os

from django.conf import settings


def _int(name: str, default: int) -> int:
    if hasattr(settings, name):
        return int(getattr(settings, name))
    raw = os.environ.get(name)
    return int(raw) if raw else default


def sensors_max_age_s() -> int:
    """How long the open sensors' latest values are cached (server and browsers); the page refreshes them
    about this often."""
    return _int("CITYTWIN_PORTAL_SENSORS_MAX_AGE_S", 30)


def page_max_age_s() -> int:
    """How long the front page's figures (counts, comparisons, district conditions) are cached."""
    return _int("CITYTWIN_PORTAL_PAGE_MAX_AGE_S", 60)


def conditions_hours() -> int:
    """District conditions: the privacy module's hourly aggregates of the last this many whole hours."""
    return _int("CITYTWIN_PORTAL_CONDITIONS_HOURS", 3)


LICENCE = "ODbL 1.0"
LICENCE_URL = "https://opendatacommons.org/licenses/odbl/1-0/"
ATTRIBUTION = "© OpenStreetMap contributors; CityTwin"
