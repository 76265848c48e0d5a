"""Asset kinds, and which of them the public may see. Critical infrastructure (substations, power lines,
cables, pipelines) is visible to signed-in staff only; override with CITYTWIN_PUBLIC_ASSET_KINDS."""

from __future__ import annotations

from apps.core.conf import setting_list

DEFAULT_PUBLIC_ASSET_KINDS = [
    "street_lamp",
    "traffic_signals",
    "charging_station",
    "fountain",
    "drinking_water",
    "fire_hydrant",
]


def public_asset_kinds() -> frozenset[str]:
    return frozenset(setting_list("CITYTWIN_PUBLIC_ASSET_KINDS", DEFAULT_PUBLIC_ASSET_KINDS))


# OSM tag -> asset kind, for loading OSM data. Order matters: the first match wins.
OSM_ASSET_TAGS: list[tuple[str, str, str]] = [
    ("highway", "street_lamp", "street_lamp"),
    ("highway", "traffic_signals", "traffic_signals"),
    ("amenity", "charging_station", "charging_station"),
    ("amenity", "fountain", "fountain"),
    ("amenity", "drinking_water", "drinking_water"),
    ("emergency", "fire_hydrant", "fire_hydrant"),
    ("power", "substation", "substation"),
    ("power", "line", "power_line"),
    ("power", "minor_line", "power_line"),
    ("power", "cable", "power_cable"),
    ("power", "tower", "power_tower"),
    ("power", "pole", "power_pole"),
    ("power", "transformer", "transformer"),
    ("power", "cable_distribution_cabinet", "cable_distribution_cabinet"),
    ("man_made", "pipeline", "pipeline"),
    ("man_made", "water_tower", "water_tower"),
    ("man_made", "water_works", "water_works"),
    ("man_made", "street_cabinet", "street_cabinet"),
]
