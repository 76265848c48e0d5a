"""The energy model's defaults and assumptions (docs/energy.md, "Buildings and the grid")."""

from __future__ import annotations

from django.conf import settings

from apps.core.geo import DEFAULT_METRIC_SRID

# A distribution substation without a rating tag: one 630 kVA 20/0.4 kV transformer, the common size of a
# city-centre secondary substation.
DEFAULT_CAPACITY_KVA = 630.0
# Synthetic substations are added until each one's peak building load stays under this share of its
# transformer: planning keeps headroom for growth and for taking over a neighbour's load in a fault.
DESIGN_LOADING = 0.7
# The power factor of building loads: planning (kVA from kW) and the power flow's default.
POWER_FACTOR = 0.95
# Standard transformer ratings a synthetic substation is sized up to when one building alone exceeds the
# default at the design loading (a large department store has a substation of its own).
STANDARD_RATINGS_KVA = (630.0, 800.0, 1000.0, 1250.0, 1600.0, 2000.0, 2500.0)
# Lines touch a substation within this distance of its stored footprint (OSM draws them to the fence).
LINE_TOUCH_M = 25.0
# The service areas reach this far past the convex hull of the buildings.
AREA_MARGIN_M = 100.0
# At most this many rounds of adding synthetic substations (each round adds one per overloaded area).
MAX_ROUNDS = 25


def metric_srid() -> int:
    return int(getattr(settings, "CITYTWIN_METRIC_SRID", DEFAULT_METRIC_SRID))
