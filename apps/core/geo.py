"""Geographic value objects: a validated bounding box and the allow-list of coordinate reference systems.

Only EPSG codes known to PostGIS's spatial_ref_sys may reach GDAL/PROJ: free-form CRS strings can make
GDAL fetch URLs (SSRF), see docs/security.md."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection

STORAGE_SRID = 4326
WEB_MERCATOR_SRID = 3857
# Metric work for the demo city (Helsinki): ETRS-TM35FIN. Other cities set CITYTWIN_METRIC_SRID.
DEFAULT_METRIC_SRID = 3067


# A number as clients write one (JavaScript's Number#toString included: 1e-7); not Python's extras that
# float() also reads (inf, nan, 1_000, surrounding spaces). The OpenAPI schema documents the same pattern.
DECIMAL = r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?"
BBOX_PATTERN = rf"^{DECIMAL},{DECIMAL},{DECIMAL},{DECIMAL}$"
_DECIMAL = re.compile(DECIMAL)


class BBoxError(ValueError):
    """A bbox parameter that is not four finite numbers inside WGS 84 with min < max."""


@dataclass(frozen=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @classmethod
    def parse(cls, raw: str) -> BBox:
        parts = raw.split(",")
        if len(parts) != 4:
            raise BBoxError("bbox must be four comma-separated numbers: minlon,minlat,maxlon,maxlat")
        try:
            values = [float(p) for p in parts]
        except ValueError as exc:
            raise BBoxError(f"bbox has a value that is not a number: {raw!r}") from exc
        if any(v != v or v in (float("inf"), float("-inf")) for v in values):
            raise BBoxError("bbox values must be finite numbers")
        if not all(_DECIMAL.fullmatch(p) for p in parts):
            raise BBoxError(f"bbox values must be plain decimal numbers (like 24.95 or -1e-7): {raw[:80]!r}")
        min_lon, min_lat, max_lon, max_lat = values
        if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180 and -90 <= min_lat <= 90 and -90 <= max_lat <= 90):
            raise BBoxError("bbox must be in WGS 84 degrees (lon -180..180, lat -90..90)")
        if min_lon >= max_lon or min_lat >= max_lat:
            raise BBoxError("bbox must have minlon < maxlon and minlat < maxlat")
        return cls(min_lon, min_lat, max_lon, max_lat)

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.min_lon, self.min_lat, self.max_lon, self.max_lat)


def srid_is_known(srid: int) -> bool:
    """True if PostGIS can transform from this SRID (it is in spatial_ref_sys)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s", [srid])
        return cursor.fetchone() is not None


def srid_bounds(srid: int) -> tuple[float, float, float, float] | None:
    """The CRS's area of use projected into its own coordinates (PROJ's bounds), or None if unknown.
    Used to tell a file whose coordinates do not fit the CRS it claims."""
    from pyproj import CRS, Transformer

    try:
        crs = CRS.from_epsg(srid)
    except Exception:  # noqa: BLE001 - pyproj raises several types for unknown codes
        return None
    area = crs.area_of_use
    if area is None:
        return None
    if crs.is_geographic:
        return (area.west, area.south, area.east, area.north)
    transformer = Transformer.from_crs(4326, crs, always_xy=True)
    return transformer.transform_bounds(area.west, area.south, area.east, area.north, densify_pts=21)
