"""Reading OSM road tags: speed limits (with Finnish zone codes), lanes per direction, one-way rules."""

from __future__ import annotations

import math
from typing import Any

from apps.core.parsing import is_blank, parse_number

# Implicit limits (km/h) by zone code; https://wiki.openstreetmap.org/wiki/Key:maxspeed
ZONE_SPEEDS = {
    "fi:urban": 50.0,
    "fi:rural": 80.0,
    "fi:motorway": 120.0,
    "fi:living_street": 20.0,
    "urban": 50.0,
    "rural": 80.0,
    "walk": 5.0,
    "living_street": 20.0,
}
MPH = 1.609344


def parse_maxspeed(value: Any) -> float | None:
    """km/h, or None when unknown or 'none'/'signals'/'variable'. Raises ValueError for garbage."""
    if is_blank(value):
        return None
    text = str(value).strip().lower()
    if text in ZONE_SPEEDS:
        return ZONE_SPEEDS[text]
    if text in {"none", "signals", "variable", "unknown"}:
        return None
    speed = parse_number(text.split(";")[0])
    if speed is None:
        return None
    return round(speed * MPH, 1) if "mph" in text else speed


def oneway_direction(oneway: Any, highway: str, junction: Any = None) -> int:
    """1: forward only; -1: against the way's direction only; 0: both directions."""
    text = "" if is_blank(oneway) else str(oneway).strip().lower()
    if text in {"yes", "true", "1"}:
        return 1
    if text in {"-1", "reverse"}:
        return -1
    if text in {"no", "false", "0"}:
        return 0
    if (not is_blank(junction) and str(junction) in {"roundabout", "circular"}) or highway in {
        "motorway",
        "motorway_link",
    }:
        return 1
    return 0


def lanes_per_direction(
    lanes: Any, *, oneway: bool, forward: Any = None, backward: Any = None, reverse: bool = False
) -> int | None:
    """Lanes in one direction of travel: lanes:forward/backward if tagged, else all lanes of a one-way
    street, else half the lanes of a two-way street (rounded up)."""
    specific = backward if reverse else forward
    try:
        if not is_blank(specific):
            value = parse_number(specific)
            return int(value) if value else None
        total = parse_number(lanes)
    except ValueError:
        return None
    if total is None or total <= 0:
        return None
    return int(total) if oneway else max(1, math.ceil(total / 2))
