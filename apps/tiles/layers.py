"""The vector tile layers: the SQL PostGIS runs for each, and who may see what.

Each layer's SQL clips features to the tile with ST_AsMVTGeom and encodes them with ST_AsMVT. The bbox
test runs against the stored EPSG:4326 geometry (GiST index) with the tile envelope, plus a 64/4096 margin
so that lines and extrusions do not show seams, transformed once per tile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.accounts.permissions import reads_as_public
from apps.assets.conf import public_asset_kinds

EXTENT = 4096
BUFFER = 64

_TILE_SQL = """
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => {margin}), 4326) AS env4326
),
features AS (
    SELECT ST_AsMVTGeom(ST_Transform(t.geom, 3857), bounds.env, {extent}, {buffer}, true) AS mvt_geom,
           {columns}
    FROM {table} t, bounds
    WHERE t.geom && bounds.env4326 {where}
)
SELECT ST_AsMVT(features.*, %(layer)s, {extent}, 'mvt_geom', 'id') FROM features
"""
# No "WHERE mvt_geom IS NOT NULL": ST_AsMVT skips NULL geometries itself, and the filter made PostgreSQL
# compute ST_AsMVTGeom twice per row (bench/README.md: 1.2-1.6x faster without it, identical bytes).


@dataclass(frozen=True)
class TileLayer:
    name: str
    table: str
    columns: str
    min_zoom: int
    public: bool  # False: the rows depend on the user's role, so the tile is cached privately
    where: str = ""

    def sql(self) -> str:
        where = f"AND ({self.where})" if self.where else ""
        return _TILE_SQL.format(
            margin=BUFFER / EXTENT, extent=EXTENT, buffer=BUFFER, columns=self.columns, table=self.table, where=where
        )

    def audience(self, params: dict[str, Any]) -> str:
        """Who the tile is for, as far as its content goes: cached tiles are shared within an audience."""
        return "staff" if params.get("kinds", "all") is None else "public"

    def params(self, *, z: int, x: int, y: int, user: Any) -> dict[str, Any]:
        return self.params_for(z=z, x=x, y=y, public_reader=reads_as_public(user))

    def params_for(self, *, z: int, x: int, y: int, public_reader: bool) -> dict[str, Any]:
        """The SQL's parameters for a reader who reads what the public reads, or more (a signed-in role)."""
        params: dict[str, Any] = {"z": z, "x": x, "y": y, "layer": self.name}
        if self.name == "assets":
            # Signed-in roles see every kind; the public only the public kinds.
            params["kinds"] = sorted(public_asset_kinds()) if public_reader else None
        return params


LAYERS: dict[str, TileLayer] = {
    "buildings": TileLayer(
        name="buildings",
        table="buildings_building",
        columns="t.id, t.name, t.use, t.levels, t.height_m, t.height_source, t.source_id",
        min_zoom=12,
        public=True,
    ),
    "roads": TileLayer(
        name="roads",
        table="roads_roadsegment",
        columns="t.id, t.name, t.highway, t.lanes, t.maxspeed_kmh, t.oneway, t.source_id",
        min_zoom=10,
        public=True,
    ),
    "assets": TileLayer(
        name="assets",
        table="assets_utilityasset",
        columns="t.id, t.kind, t.name, t.operator, t.source_id",
        min_zoom=13,
        public=False,
        where="%(kinds)s::text[] IS NULL OR t.kind = ANY(%(kinds)s::text[])",
    ),
    "districts": TileLayer(
        name="districts",
        table="districts_district",
        columns="t.id, t.name, t.code, t.level",
        min_zoom=8,
        public=True,
    ),
}
