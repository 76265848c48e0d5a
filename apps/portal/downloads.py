"""The open-data downloads the portal offers, in one list: the role matrix (tests/roles_expected.py) checks
that every one of them answers everyone."""

from __future__ import annotations

from dataclasses import dataclass

from . import conf


@dataclass(frozen=True)
class Download:
    title: str
    url: str
    format: str
    description: str
    licence: str = conf.LICENCE
    needs_privacy: bool = False  # offered once the privacy module is installed


DOWNLOADS: tuple[Download, ...] = (
    Download("Buildings", "/api/buildings/?format=geojson&limit=10000", "GeoJSON", "Footprints, use, levels, height."),
    Download(
        "Buildings in 3D",
        "/api/buildings/cityjson/",
        "CityJSON",
        "LoD1 blocks (footprints extruded to their heights), in the city's metric CRS.",
    ),
    Download("Road network", "/api/road-segments/?format=geojson&limit=10000", "GeoJSON", "The roads' segments."),
    Download("Junctions", "/api/road-nodes/?format=geojson&limit=10000", "GeoJSON", "The road network's nodes."),
    Download(
        "Public utility assets",
        "/api/utility-assets/?format=geojson&limit=10000",
        "GeoJSON",
        "Street lamps, traffic signals, chargers, hydrants, fountains.",
    ),  # fmt: skip
    Download("Districts", "/api/districts/?format=geojson", "GeoJSON", "Administrative districts."),
    Download("Open sensors", "/api/sensors/?format=geojson", "GeoJSON", "Traffic and air-quality sensors."),
    Download("Open sensors, latest values", "/api/public/sensors/", "GeoJSON", "Refreshed every half minute."),
    Download(
        "District aggregates",
        "/api/public/aggregates/?dataset=traffic&partition=district&format=csv",
        "CSV",
        "Hourly traffic, air quality and energy per district, through the privacy module.",
        needs_privacy=True,
    ),
    Download("API description", "/api/schema/", "OpenAPI 3", "Every endpoint, for client generators.", licence="-"),
)


def offered(*, privacy: bool) -> list[Download]:
    return [d for d in DOWNLOADS if privacy or not d.needs_privacy]
