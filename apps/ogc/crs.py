"""The coordinate reference systems the OGC API answers in (Features Part 2), as value objects.

A CRS is named by its OGC URI. Only the listed ones are accepted: the URI is matched, never resolved (GDAL
would fetch a URL it is given, docs/security.md). EPSG:4326 is latitude first, as EPSG defines it; CRS84 is
the same datum longitude first, as GeoJSON and the stored geometry are."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

from apps.core.geo import DEFAULT_METRIC_SRID, STORAGE_SRID, WEB_MERCATOR_SRID

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
# Spellings of an EPSG code clients send: the URI (http or https), the URN, the CURIE, the short form.
_EPSG_FORMS = re.compile(
    r"^(?:https?://www\.opengis\.net/def/crs/EPSG/0/|urn:ogc:def:crs:EPSG:[0-9.]*:|\[?EPSG:)(\d{1,6})\]?$"
)
_CRS84_FORMS = {CRS84_URI, "https://www.opengis.net/def/crs/OGC/1.3/CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84", "CRS84"}


class CRSError(ValueError):
    """A crs or bbox-crs the API does not offer."""


@dataclass(frozen=True)
class CRS:
    uri: str
    srid: int
    lat_first: bool = False  # EPSG:4326: coordinates are (lat, lon)
    decimals: int = 7  # ~1 cm in degrees; metric CRSs get millimetres

    @property
    def is_storage(self) -> bool:
        """The stored geometry already is in this CRS and axis order: no transform, no flip."""
        return self.srid == STORAGE_SRID and not self.lat_first

    def geometry_sql(self, column: str) -> str:
        """SQL turning stored (EPSG:4326, lon/lat) geometry into this CRS's coordinates."""
        if self.is_storage:
            return column
        if self.srid == STORAGE_SRID:
            return f"ST_FlipCoordinates({column})"
        return f"ST_Transform({column}, {int(self.srid)})"

    def urn(self) -> str:
        """The legacy GeoJSON `crs` member's name, which GDAL and QGIS read for non-CRS84 GeoJSON."""
        return "urn:ogc:def:crs:OGC:1.3:CRS84" if self.uri == CRS84_URI else f"urn:ogc:def:crs:EPSG::{self.srid}"


def metric_srid() -> int:
    return int(getattr(settings, "CITYTWIN_METRIC_SRID", DEFAULT_METRIC_SRID))


def supported() -> list[CRS]:
    """CRS84 first (the default), then EPSG:4326, Web Mercator and the city's metric CRS."""
    found = [
        CRS(CRS84_URI, STORAGE_SRID),
        CRS(_EPSG_URI.format(STORAGE_SRID), STORAGE_SRID, lat_first=True),
        CRS(_EPSG_URI.format(WEB_MERCATOR_SRID), WEB_MERCATOR_SRID, decimals=3),
    ]
    metric = metric_srid()
    if metric not in (STORAGE_SRID, WEB_MERCATOR_SRID):
        found.append(CRS(_EPSG_URI.format(metric), metric, decimals=3))
    return found


DEFAULT = CRS(CRS84_URI, STORAGE_SRID)


def parse(raw: str, *, name: str) -> CRS:
    """The offered CRS a `crs` or `bbox-crs` value names; CRSError listing the offered ones otherwise."""
    value = raw.strip()
    if value in _CRS84_FORMS:
        return DEFAULT
    match = _EPSG_FORMS.match(value)
    if match:
        srid = int(match.group(1))
        for crs in supported():
            if crs.srid == srid and crs.uri != CRS84_URI:
                return crs
    offered = ", ".join(c.uri for c in supported())
    raise CRSError(f"{name} {value[:120]!r} is not offered; use one of: {offered}")
