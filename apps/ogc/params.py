"""The query parameters of /ogc/collections/{id}/items, parsed and checked: each bad value is a 400 that
names the parameter and says what it accepts (OGC API Features Part 1 requires the 400 for unknown ones)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.http import QueryDict

from apps.core.geo import DECIMAL

from . import crs as crs_module
from .collections import Collection
from .crs import CRS, CRSError
from .errors import InvalidParameter

DEFAULT_LIMIT = 10
MAX_LIMIT = 10000
MAX_OFFSET = 2**31 - 1
COMMON = ("f",)
ITEMS = ("limit", "offset", "bbox", "bbox-crs", "crs", "datetime", *COMMON)


@dataclass(frozen=True)
class ItemsQuery:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None  # in bbox_crs's axis order as given
    bbox_crs: CRS = crs_module.DEFAULT
    crs: CRS = crs_module.DEFAULT
    interval: tuple[datetime | None, datetime | None] | None = None  # None: no datetime filter
    filters: dict[str, Any] = field(default_factory=dict)  # property -> typed value


def check_known(query: QueryDict, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        raise InvalidParameter(
            f"unknown query parameter {unknown[0]!r}; this resource takes: {', '.join(allowed) or 'none'}"
        )


def _whole(query: QueryDict, name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not minimum <= int(raw) <= maximum:
        raise InvalidParameter(f"{name} must be a whole number from {minimum} to {maximum}, not {raw[:40]!r}")
    return int(raw)


def _bbox(raw: str, bbox_crs: CRS) -> tuple[float, float, float, float]:
    parts = raw.split(",")
    if len(parts) not in (4, 6) or not all(re.fullmatch(DECIMAL, p) for p in parts):
        raise InvalidParameter(f"bbox must be 4 (or 6) comma-separated numbers, not {raw[:80]!r}")
    values = [float(p) for p in parts]
    if not all(math.isfinite(v) for v in values):
        raise InvalidParameter("bbox values must be finite numbers")
    if len(values) == 6:  # 3D: the heights do not filter 2D geometry
        values = [values[0], values[1], values[3], values[4]]
    x0, y0, x1, y1 = values
    if bbox_crs.srid == 4326:
        lon0, lat0, lon1, lat1 = (y0, x0, y1, x1) if bbox_crs.lat_first else (x0, y0, x1, y1)
        if not (-180 <= lon0 <= 180 and -180 <= lon1 <= 180 and -90 <= lat0 <= 90 and -90 <= lat1 <= 90):
            raise InvalidParameter("bbox is outside the CRS's range (longitude -180..180, latitude -90..90)")
        if lon0 > lon1:
            raise InvalidParameter("a bbox crossing the antimeridian (lower longitude > upper) is not supported")
    if x0 > x1 or y0 > y1:
        raise InvalidParameter("bbox's lower corner must come first: lower values are not above upper ones")
    return (x0, y0, x1, y1)


def _instant(raw: str) -> datetime | None:
    if raw in ("..", ""):
        return None
    try:
        value = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError as exc:
        raise InvalidParameter(
            f"datetime {raw[:40]!r} is not an RFC 3339 date-time (e.g. 2026-11-23T08:00:00Z)"
        ) from exc
    if value.tzinfo is None:
        if "T" in raw:
            raise InvalidParameter(f"datetime {raw[:40]!r} needs a time zone (e.g. Z)")
        value = value.replace(tzinfo=UTC)  # a date: its start in UTC
    return value.astimezone(UTC)


def _interval(raw: str) -> tuple[datetime | None, datetime | None]:
    if "/" not in raw:
        instant = _instant(raw)
        if instant is None:
            raise InvalidParameter("datetime '..' is only allowed as one end of an interval")
        return (instant, instant)
    parts = raw.split("/")
    if len(parts) != 2:
        raise InvalidParameter(f"datetime {raw[:80]!r}: an interval has exactly one '/'")
    start, end = _instant(parts[0]), _instant(parts[1])
    if start is not None and end is not None and start > end:
        raise InvalidParameter("datetime: the interval's start is after its end")
    return (start, end)


def _typed(name: str, kind: str, raw: str) -> Any:
    if kind == "integer":
        if not raw.lstrip("-").isdigit() or not raw.isascii() or abs(int(raw)) > 2**63 - 1:
            raise InvalidParameter(f"{name} must be a whole number, not {raw[:40]!r}")
        return int(raw)
    if kind == "number":
        if not re.fullmatch(DECIMAL, raw):
            raise InvalidParameter(f"{name} must be a number, not {raw[:40]!r}")
        return float(raw)
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise InvalidParameter(f"{name} must be true or false, not {raw[:40]!r}")
        return raw == "true"
    if kind == "date-time":
        instant = _instant(raw)
        if instant is None:
            raise InvalidParameter(f"{name} must be a date-time")
        return instant
    if "\x00" in raw:
        raise InvalidParameter(f"{name} must not contain NUL characters")
    return raw


def _one(query: QueryDict, name: str) -> str:
    """The parameter's value (the last, if repeated)."""
    return str(query.get(name, ""))


def parse_items(query: QueryDict, collection: Collection) -> ItemsQuery:
    check_known(query, (*ITEMS, *collection.properties))
    try:
        bbox_crs = (
            crs_module.parse(_one(query, "bbox-crs"), name="bbox-crs") if "bbox-crs" in query else crs_module.DEFAULT
        )
        out_crs = crs_module.parse(_one(query, "crs"), name="crs") if "crs" in query else crs_module.DEFAULT
    except CRSError as exc:
        raise InvalidParameter(str(exc)) from exc
    if "bbox-crs" in query and "bbox" not in query:
        raise InvalidParameter("bbox-crs is given without a bbox")
    return ItemsQuery(
        limit=min(_whole(query, "limit", DEFAULT_LIMIT, minimum=1, maximum=2**31 - 1), MAX_LIMIT),
        offset=_whole(query, "offset", 0, minimum=0, maximum=MAX_OFFSET),
        bbox=_bbox(_one(query, "bbox"), bbox_crs) if "bbox" in query else None,
        bbox_crs=bbox_crs,
        crs=out_crs,
        interval=_interval(_one(query, "datetime")) if "datetime" in query else None,
        filters={
            name: _typed(name, kind, _one(query, name)) for name, kind in collection.properties.items() if name in query
        },
    )
