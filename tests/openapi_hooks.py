"""schemathesis hooks for tests/test_openapi.py (loaded by the CLI through SCHEMATHESIS_HOOKS).

`map_case`: HTTP ingest writes only to the test's own sensor (CITYTWIN_OPENAPI_SENSOR). schemathesis reuses
values it saw in answers (sensor codes from /api/sensors/), so a generated reading could name a sensor
that other tests own; every code-like sensor name is replaced by the test's own. Names no sensor can have
(not a slug) stay: they test the quarantine.

`filter_case`: JSON Schema cannot say "minlon < maxlon" or "start before end": the OpenAPI document states those rules in
the parameters' descriptions, and the API answers 400 when they are broken. A *positive* case (one that
claims to be valid, for the positive_data_acceptance check) must keep them too, so positive cases that
break one are dropped here; negative cases are left alone. The rules are written out again here, not
imported from the app, so that a wrong rule in the app cannot agree with itself."""

from __future__ import annotations

import math
import os
import re
from datetime import datetime, timedelta
from typing import Any

import schemathesis

# apps/sensors/api/views.py: the longest window per resolution, and the defaults.
MAX_WINDOW = {"raw": timedelta(days=1), "1m": timedelta(days=3), "15m": timedelta(days=31), "1h": timedelta(days=366)}
DEFAULT_WINDOW = timedelta(hours=1)
SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def _sensible_bbox(raw: str) -> bool:
    try:
        min_lon, min_lat, max_lon, max_lat = (float(part) for part in raw.split(","))
    except ValueError:
        return False
    values = (min_lon, min_lat, max_lon, max_lat)
    return (
        all(math.isfinite(v) for v in values)
        and all(-180 <= v <= 180 for v in (min_lon, max_lon))
        and all(-90 <= v <= 90 for v in (min_lat, max_lat))
        and min_lon < max_lon
        and min_lat < max_lat
    )


def _time(raw: Any) -> datetime | None:
    try:
        value = datetime.fromisoformat(str(raw))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _sensible_window(query: dict[str, Any]) -> bool:
    resolution = query.get("resolution", "1m")
    try:
        end = _time(query["end"]) if "end" in query else datetime.now().astimezone()
        start = _time(query["start"]) if "start" in query else (end - DEFAULT_WINDOW if end else None)
        if start is None or end is None or resolution not in MAX_WINDOW:
            return False
        return start < end and end - start <= MAX_WINDOW[resolution]
    except OverflowError:
        return False


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return True
    query = case.query or {}
    if "bbox" in query and not _sensible_bbox(str(query["bbox"])):
        return False
    return not (case.operation.path.endswith("/readings/") and not _sensible_window(query))


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    own = os.environ.get("CITYTWIN_OPENAPI_SENSOR")
    if own and case.operation.path == "/api/ingest/readings/" and isinstance(case.body, list):
        for item in case.body:
            if isinstance(item, dict) and isinstance(item.get("sensor"), str) and SLUG.fullmatch(item["sensor"]):
                item["sensor"] = own
    return case
