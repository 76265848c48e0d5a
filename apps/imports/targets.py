"""What each kind of feature becomes in the database: its table, geometry family and attribute columns.

The import service stages rows in a temporary table with these columns, checks and repairs geometry in
PostGIS, then upserts into `table` on the natural key. Keep this in step with the models."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # the staging column's type; the upsert casts nothing
    not_null_default: str | None = None  # for NOT NULL model columns that a source may leave empty


@dataclass(frozen=True)
class Target:
    kind: str
    table: str
    model: str  # "app_label.Model": where the columns' lengths and ranges come from (see checks.py)
    family: str  # polygon | line | point | any: which geometries the table takes
    columns: tuple[Column, ...]
    conflict: tuple[str, ...] = ("source", "source_id")
    label: str = ""
    # Text columns that identify a feature: a value too long for them rejects the row (other text is cut).
    identifiers: tuple[str, ...] = ()

    @property
    def expected(self) -> str:
        return {
            "polygon": "Polygon or MultiPolygon",
            "line": "LineString",
            "point": "Point",
            "any": "any geometry",
        }[self.family]


TEXT_BLANK = "''"

BUILDINGS = Target(
    kind="buildings",
    model="buildings.Building",
    table="buildings_building",
    family="polygon",
    label="Buildings",
    columns=(
        Column("name", "text", TEXT_BLANK),
        Column("use", "text", TEXT_BLANK),
        Column("levels", "integer"),
        Column("height_m", "double precision", "9.0"),
        Column("height_source", "text", "'default'"),
        Column("osm_id", "bigint"),
        Column("osm_type", "text", TEXT_BLANK),
    ),
)

ROAD_NODES = Target(
    kind="road_nodes",
    model="roads.RoadNode",
    table="roads_roadnode",
    family="point",
    label="Road nodes",
    columns=(Column("osm_id", "bigint"), Column("traffic_signals", "boolean", "false")),
)

ROADS = Target(
    kind="roads",
    model="roads.RoadSegment",
    table="roads_roadsegment",
    family="line",
    label="Road segments",
    columns=(
        Column("highway", "text", "'road'"),
        Column("name", "text", TEXT_BLANK),
        Column("lanes", "integer"),
        Column("maxspeed_kmh", "double precision"),
        Column("oneway", "boolean", "false"),
        Column("osm_way_id", "bigint"),
        # Resolved to from_node_id/to_node_id by the service (natural keys of road nodes).
        Column("from_node_key", "text"),
        Column("to_node_key", "text"),
    ),
)

ASSETS = Target(
    kind="assets",
    model="assets.UtilityAsset",
    table="assets_utilityasset",
    family="any",
    label="Utility assets",
    columns=(
        Column("kind", "text", "'unknown'"),
        Column("name", "text", TEXT_BLANK),
        Column("operator", "text", TEXT_BLANK),
        Column("osm_id", "bigint"),
        Column("osm_type", "text", TEXT_BLANK),
    ),
)

DISTRICTS = Target(
    kind="districts",
    model="districts.District",
    table="districts_district",
    family="polygon",
    label="Districts",
    identifiers=("code",),
    columns=(
        Column("name", "text", TEXT_BLANK),
        Column("code", "text", TEXT_BLANK),
        Column("level", "text", "'admin'"),
        Column("admin_level", "integer"),
    ),
)

SENSORS = Target(
    kind="sensors",
    model="sensors.Sensor",
    table="sensors_sensor",
    family="point",
    label="Sensors",
    identifiers=("code",),
    conflict=("code",),
    columns=(
        Column("code", "text"),
        Column("name", "text", TEXT_BLANK),
        Column("kind", "text"),
        Column("active", "boolean", "true"),
    ),
)

TARGETS: dict[str, Target] = {t.kind: t for t in (BUILDINGS, ROAD_NODES, ROADS, ASSETS, DISTRICTS, SENSORS)}
# Kinds a user may ask for with --kind (road nodes come with roads).
USER_KINDS = ("buildings", "roads", "assets", "districts", "sensors")
