"""Electric load of a building by its use: which load profile a building=* value belongs to (PROFILE_USES,
profile_of), each profile's peak W per m² of floor area and its share of that peak per local hour
(LOAD_PROFILES, load_factor). The demo feed's energy meters and the energy model (loads.py) share these.

The profiles:
- residential: apartments and houses; a morning bump, the evening peak (cooking, sauna, lights), a night base.
- office: working hours on weekdays, a base load (ventilation, servers) at night and at weekends.
- public: offices' weekday shape, open to visitors at weekend middays (museums, churches, stations).
- retail: shop opening hours, a cooling/lighting base when closed.
- school: teaching hours on weekdays only.
- hotel: guests round the clock, peaks at breakfast and in the evening.
- mixed: building=yes (use unknown, in central Helsinki mostly offices and flats over shops): an office shape.
- minor: roofs, sheds, canopies, entrances: little more than lighting.

Where the numbers come from: the hourly shapes are written after the general form of published household
and commercial-building load curves (evening peak for homes, working-hours plateau for offices and shops);
they are not fitted to any data set. The peak W/m² values are planning assumptions of this project, in the
range of the electricity (not heating: Helsinki heats with district heat) demand of such buildings; they are
not measurements. Where a building has an energy meter, loads.py scales its profile to the readings."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class LoadProfile:
    """Electric load of a building use: peak W per m² of floor area and the share of the peak per local hour."""

    peak_w_m2: float
    weekday: tuple[float, ...]
    weekend: tuple[float, ...]


# fmt: off
_OFFICE_WEEKDAY = (
    0.25, 0.25, 0.25, 0.25, 0.25, 0.30, 0.45, 0.75, 0.95, 1.00, 1.00, 1.00,
    0.95, 1.00, 1.00, 0.95, 0.85, 0.65, 0.45, 0.35, 0.30, 0.28, 0.26, 0.25,
)
# Households: a morning bump, the evening peak (cooking, sauna, lights), a night base.
_HOME_WEEKDAY = (
    0.35, 0.30, 0.28, 0.28, 0.30, 0.40, 0.60, 0.75, 0.65, 0.50, 0.45, 0.45,
    0.48, 0.45, 0.45, 0.50, 0.65, 0.85, 1.00, 1.00, 0.95, 0.80, 0.60, 0.45,
)
_HOME_WEEKEND = (
    0.38, 0.32, 0.30, 0.28, 0.28, 0.30, 0.38, 0.50, 0.65, 0.75, 0.75, 0.72,
    0.70, 0.65, 0.62, 0.65, 0.75, 0.90, 1.00, 1.00, 0.95, 0.82, 0.62, 0.48,
)
_HOTEL_WEEKDAY = (
    0.55, 0.50, 0.50, 0.50, 0.50, 0.55, 0.75, 0.95, 0.90, 0.70, 0.65, 0.65,
    0.70, 0.65, 0.65, 0.70, 0.75, 0.85, 0.95, 1.00, 0.95, 0.85, 0.70, 0.60,
)
_HOTEL_WEEKEND = (
    0.55, 0.50, 0.50, 0.50, 0.50, 0.55, 0.65, 0.85, 0.95, 0.85, 0.70, 0.65,
    0.70, 0.65, 0.65, 0.70, 0.75, 0.85, 0.95, 1.00, 0.95, 0.85, 0.70, 0.60,
)
# fmt: on


def _by_hour(rule: Callable[[int], float]) -> tuple[float, ...]:
    return tuple(rule(h) for h in range(24))


_LIGHTING = _by_hour(lambda h: 1.0 if h < 7 or h >= 17 else 0.3)

LOAD_PROFILES: dict[str, LoadProfile] = {
    "residential": LoadProfile(6.0, _HOME_WEEKDAY, _HOME_WEEKEND),
    "office": LoadProfile(15.0, _OFFICE_WEEKDAY, _by_hour(lambda h: 0.25)),
    "public": LoadProfile(12.0, _OFFICE_WEEKDAY, _by_hour(lambda h: 0.35 if 10 <= h < 16 else 0.25)),
    "retail": LoadProfile(
        25.0,
        _by_hour(lambda h: 0.30 if h < 7 or h >= 22 else 0.55 if h in (7, 8, 21) else 1.0),
        _by_hour(lambda h: 0.30 if h < 9 or h >= 21 else 0.55 if h in (9, 20) else 0.9),
    ),
    "school": LoadProfile(
        10.0, _by_hour(lambda h: 1.0 if 8 <= h < 15 else 0.5 if h in (7, 15, 16) else 0.2), _by_hour(lambda h: 0.2)
    ),
    "hotel": LoadProfile(12.0, _HOTEL_WEEKDAY, _HOTEL_WEEKEND),
    "mixed": LoadProfile(10.0, _OFFICE_WEEKDAY, _by_hour(lambda h: 0.35 + 0.15 * math.sin(math.pi * h / 24))),
    "minor": LoadProfile(2.0, _LIGHTING, _LIGHTING),
}

# The OSM building=* values each profile covers; a value not listed counts as "mixed". The demo feed picks
# its metered buildings by these lists (apps/demo_feed/sensors.py METER_QUOTAS).
PROFILE_USES: dict[str, tuple[str, ...]] = {
    "residential": ("apartments", "residential", "house", "detached", "terrace", "dormitory"),
    "office": ("office", "government"),
    "retail": ("retail", "commercial", "supermarket", "kiosk"),
    "school": ("school", "university", "college", "kindergarten"),
    "hotel": ("hotel",),
    "public": ("public", "civic", "museum", "train_station", "church", "cathedral"),
    "mixed": ("yes",),
    "minor": ("roof", "shed", "hut", "carport", "garage", "garages", "utility", "service", "pavilion", "entrance"),
}
_PROFILE_OF_USE = {use: profile for profile, uses in PROFILE_USES.items() for use in uses}


def profile_of(use: str) -> str:
    """The load profile of a building=* value (unknown and empty values: "mixed")."""
    return _PROFILE_OF_USE.get(use, "mixed")


def hourly(values: tuple[float, ...], local: datetime) -> float:
    """Linear interpolation between hourly values, so loads and demand never jump at the full hour."""
    hour = local.hour + local.minute / 60 + local.second / 3600
    lower = int(hour) % 24
    frac = hour - int(hour)
    return values[lower] * (1 - frac) + values[(lower + 1) % 24] * frac


def load_factor(profile: str, local: datetime) -> float:
    """The share of the profile's peak load at this local time (an unknown profile counts as mixed)."""
    p = LOAD_PROFILES.get(profile, LOAD_PROFILES["mixed"])
    return hourly(p.weekend if local.weekday() >= 5 else p.weekday, local)
