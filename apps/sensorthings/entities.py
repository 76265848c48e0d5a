"""The SensorThings entity types and how each maps onto CityTwin's tables.

Each entity set is a SQL relation (a subquery with fixed column names) over the sensors, the property
catalog, the readings and the hourly rollups, always restricted to the sensors the user may see
(Sensor.objects.visible_to): a role filter in one place, so no navigation, $expand or $filter can reach
an energy meter the role may not see. The compiler (query.py) filters, sorts and pages these relations;
PostgreSQL pushes the conditions on plain columns (sensor_id, property, hourly, phenomenon_time) down into
them, so Observations of one Datastream are read through the readings' (sensor, time) index.

Ids: Things, Locations, Sensors and FeaturesOfInterest carry the sensor's id (one of each per sensor).
ObservedProperties are the catalog's property names ('pm2_5'). Datastreams are '<sensor>:<property>' (the
readings) and '<sensor>:<property>:hourly' (the hourly rollups). Observations are
'<sensor>:<property>[:hourly]:<epoch microseconds of phenomenonTime>'."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from apps.sensors.models import Sensor
from apps.telemetry.catalog import CATALOG

Kind = Literal["number", "string", "datetime", "geometry", "json", "boolean"]
SqlParams = tuple[str, list[Any]]
# Columns a query fixes (column -> an SQL expression: a parameter, or a column of an outer query): a
# relation may use them to read through an index (Observations of one Datastream).
Pins = dict[str, SqlParams]

OM_MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
GEOJSON = "application/geo+json"
# Units of the catalog as STA unitOfMeasurement: a name, the symbol and a QUDT unit URI.
UNITS: dict[str, tuple[str, str]] = {
    "veh/interval": ("vehicles per reporting interval", "http://qudt.org/vocab/unit/NUM"),
    "veh/h": ("vehicles per hour", "http://qudt.org/vocab/unit/NUM-PER-HR"),
    "km/h": ("kilometre per hour", "http://qudt.org/vocab/unit/KiloM-PER-HR"),
    "%": ("percent", "http://qudt.org/vocab/unit/PERCENT"),
    "µg/m³": ("microgram per cubic metre", "http://qudt.org/vocab/unit/MicroGM-PER-M3"),
    "°C": ("degree Celsius", "http://qudt.org/vocab/unit/DEG_C"),
    "kW": ("kilowatt", "http://qudt.org/vocab/unit/KiloW"),
    "kWh/interval": ("kilowatt hour per reporting interval", "http://qudt.org/vocab/unit/KiloW-HR"),
    "kWh/h": ("kilowatt hour per hour", "http://qudt.org/vocab/unit/KiloW-HR"),
}


@dataclass(frozen=True)
class Ctx:
    """Who asks: the SQL of the ids of the sensors they may see."""

    visible_sql: str
    visible_params: list[Any]

    @classmethod
    def for_user(cls, user: Any) -> Ctx:
        sql, params = Sensor.objects.visible_to(user).values("id").query.sql_with_params()
        return cls(sql, list(params))


@dataclass(frozen=True)
class Prop:
    column: str
    kind: Kind
    filterable: bool = True  # False: computed after paging (a Datastream's phenomenonTime)


@dataclass(frozen=True)
class Nav:
    target: str  # the entity type's name
    many: bool
    pairs: tuple[tuple[str, str], ...]  # (column of this relation, column of the target's)


@dataclass(frozen=True)
class EntityType:
    name: str
    plural: str
    relation: Callable[[Ctx, Pins], SqlParams]
    props: dict[str, Prop]
    navs: dict[str, Nav]
    key: Callable[[str], dict[str, Any]]  # an @iot.id -> the relation's column values that select it
    tiebreak: tuple[str, ...] = ("id",)
    default_order: tuple[tuple[str, bool], ...] = (("@iot.id", False),)  # (property, descending)
    hidden: tuple[str, ...] = field(default=())


def _catalog_values() -> SqlParams:
    """The property catalog as a VALUES list: kind, property, label, unit, aggregate."""
    rows = [(kind, p.name, p.label, p.unit, p.aggregate) for kind, props in CATALOG.items() for p in props.values()]
    sql = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    return f"(VALUES {sql}) AS c(kind, property, label, unit, aggregate)", [v for row in rows for v in row]


def _units_values() -> SqlParams:
    rows = [(symbol, name, definition) for symbol, (name, definition) in UNITS.items()]
    sql = ", ".join(["(%s, %s, %s)"] * len(rows))
    return f"(VALUES {sql}) AS un(symbol, name, definition)", [v for row in rows for v in row]


NAME = "coalesce(nullif(s.name, ''), s.code)"


def things(ctx: Ctx, pins: Pins) -> SqlParams:
    sql = f"""SELECT s.id, {NAME} AS name,
        'A ' || replace(s.kind, '_', ' ') || ' sensor' ||
            CASE WHEN s.road_segment_id IS NOT NULL THEN ' on a road segment'
                 WHEN s.building_id IS NOT NULL THEN ' in a building'
                 WHEN s.asset_id IS NOT NULL THEN ' on a utility asset' ELSE '' END AS description,
        jsonb_build_object('code', s.code, 'kind', s.kind, 'active', s.active, 'installedAt', s.installed_at,
            'roadSegment', s.road_segment_id, 'building', s.building_id, 'utilityAsset', s.asset_id,
            'district', (SELECT d.name FROM districts_district d WHERE ST_Covers(d.geom, s.geom)
                         ORDER BY ST_Area(d.geom) LIMIT 1)) AS properties
        FROM sensors_sensor s WHERE s.id IN ({ctx.visible_sql})"""
    return sql, list(ctx.visible_params)


def locations(ctx: Ctx, pins: Pins) -> SqlParams:
    sql = f"""SELECT s.id, {NAME} AS name, 'Where sensor ' || s.code || ' stands' AS description,
        '{GEOJSON}'::text AS encoding_type, s.geom,
        jsonb_build_object('code', s.code) AS properties
        FROM sensors_sensor s WHERE s.id IN ({ctx.visible_sql})"""
    return sql, list(ctx.visible_params)


def sensors(ctx: Ctx, pins: Pins) -> SqlParams:
    sql = f"""SELECT s.id, s.code AS name, 'A ' || replace(s.kind, '_', ' ') || ' sensor' AS description,
        'application/json'::text AS encoding_type,
        jsonb_build_object('kind', s.kind, 'code', s.code, 'source', s.source)::text AS metadata,
        jsonb_build_object('kind', s.kind) AS properties
        FROM sensors_sensor s WHERE s.id IN ({ctx.visible_sql})"""
    return sql, list(ctx.visible_params)


def observed_properties(ctx: Ctx, pins: Pins) -> SqlParams:
    catalog, params = _catalog_values()
    sql = f"""SELECT DISTINCT ON (c.property) c.property AS id, c.property AS name,
        'urn:citytwin:property:' || c.property AS definition,
        c.label || ' as the ' || replace(c.kind, '_', ' ') || ' sensors report it' AS description,
        jsonb_build_object('label', c.label, 'sensorKind', c.kind, 'unit', c.unit, 'aggregate', c.aggregate)
            AS properties
        FROM {catalog} ORDER BY c.property"""
    return sql, params


def datastreams(ctx: Ctx, pins: Pins) -> SqlParams:
    catalog, params = _catalog_values()
    units, unit_params = _units_values()
    sql = f"""SELECT s.id::text || ':' || c.property || CASE WHEN h.hourly THEN ':hourly' ELSE '' END AS id,
        s.id AS sensor_id, c.property, h.hourly,
        {NAME} || ' ' || c.label || CASE WHEN h.hourly THEN ' (hourly)' ELSE '' END AS name,
        CASE WHEN h.hourly THEN 'Hourly ' || CASE c.aggregate WHEN 'sum' THEN 'sums' ELSE 'means' END
             || ' of ' || c.label || ' at sensor ' || s.code || ', with min, max and count'
             ELSE c.label || ' as sensor ' || s.code || ' reports it' END AS description,
        jsonb_build_object('name', un.name, 'symbol', un.symbol, 'definition', un.definition) AS unit_of_measurement,
        '{OM_MEASUREMENT}'::text AS observation_type, s.geom,
        jsonb_build_object('resolution', CASE WHEN h.hourly THEN '1h' ELSE 'raw' END,
                           'aggregate', CASE WHEN h.hourly THEN c.aggregate END) AS properties
        FROM sensors_sensor s JOIN {catalog} ON c.kind = s.kind
        CROSS JOIN (VALUES (false), (true)) AS h(hourly)
        JOIN {units} ON un.symbol = CASE WHEN h.hourly AND c.aggregate = 'sum'
                                        THEN replace(c.unit, '/interval', '/h') ELSE c.unit END
        WHERE s.id IN ({ctx.visible_sql})"""
    return sql, [*params, *unit_params, *ctx.visible_params]


def _micros(column: str) -> str:
    return f"(extract(epoch FROM {column}) * 1000000)::bigint"


def observations(ctx: Ctx, pins: Pins) -> SqlParams:
    """The readings (one Observation per property of a reading) and the hourly rollups (result: the
    property's own aggregate, sum or mean; min, max and count in parameters). With sensor, property and
    hourly pinned (one Datastream), each arm reads one sensor's rows in time order through its index."""
    if {"sensor_id", "property", "hourly"} <= set(pins):
        return _datastream_observations(ctx, pins)
    catalog, params = _catalog_values()
    sql = f"""SELECT r.sensor_id::text || ':' || k.key || ':' || ({_micros("r.time")})::text AS id,
            r.sensor_id, k.key AS property, false AS hourly, r.time AS phenomenon_time,
            NULL::timestamptz AS phenomenon_end, r.time AS result_time,
            CASE WHEN jsonb_typeof(k.value) = 'number' THEN (k.value)::float8 END AS result,
            jsonb_build_object('receivedAt', r.received_at) AS parameters
        FROM telemetry_reading r JOIN sensors_sensor s ON s.id = r.sensor_id
        CROSS JOIN LATERAL jsonb_each(r.values) AS k
        JOIN {catalog} ON c.kind = s.kind AND c.property = k.key
        WHERE r.sensor_id = ANY(ARRAY({ctx.visible_sql}))
        UNION ALL
        {HOURLY_ARM}
        WHERE u.resolution = '1h' AND u.sensor_id = ANY(ARRAY({ctx.visible_sql}))"""
    return sql, [*params, *ctx.visible_params, _sum_properties(), *ctx.visible_params]


def _sum_properties() -> list[str]:
    return [p.name for props in CATALOG.values() for p in props.values() if p.aggregate == "sum"]


# Every column has the raw arm's exact type (property: text, not varchar) and each arm reads one table
# (visibility as = ANY(ARRAY(...)), an InitPlan, not a join): only then does PostgreSQL flatten the UNION ALL
# and read a Datastream's Observations in time order through the (sensor, time) indexes (a Merge Append).
HOURLY_ARM = f"""SELECT u.sensor_id::text || ':' || u.property || ':hourly:' || ({_micros("u.bucket")})::text AS id,
            u.sensor_id, u.property::text AS property, true AS hourly, u.bucket AS phenomenon_time,
            u.bucket + interval '1 hour' AS phenomenon_end, u.bucket + interval '1 hour' AS result_time,
            CASE WHEN u.property = ANY(%s) THEN u.total ELSE u.total / nullif(u.n, 0) END AS result,
            jsonb_build_object('min', u.minimum, 'max', u.maximum, 'count', u.n) AS parameters
        FROM telemetry_rollup u"""


def _datastream_observations(ctx: Ctx, pins: Pins) -> SqlParams:
    """One Datastream's Observations. With `hourly` a known constant only its own table is read: a UNION ALL
    over the partitioned readings table is not flattened by PostgreSQL, so its rows would be sorted instead
    of read in time order through the (sensor, time) index."""
    (sensor, sp), (prop, pp), (hourly, hp) = pins["sensor_id"], pins["property"], pins["hourly"]
    raw_sql = f"""SELECT r.sensor_id::text || ':' || ({prop})::text || ':' || ({_micros("r.time")})::text AS id,
            r.sensor_id, ({prop})::text AS property, false AS hourly, r.time AS phenomenon_time,
            NULL::timestamptz AS phenomenon_end, r.time AS result_time,
            CASE WHEN jsonb_typeof(r.values -> ({prop})::text) = 'number'
                 THEN (r.values -> ({prop})::text)::float8 END AS result,
            jsonb_build_object('receivedAt', r.received_at) AS parameters
        FROM telemetry_reading r
        WHERE r.sensor_id = {sensor} AND r.values ? ({prop})::text AND NOT ({hourly})
          AND r.sensor_id = ANY(ARRAY({ctx.visible_sql}))"""
    raw_params = [*pp, *pp, *pp, *pp, *sp, *pp, *hp, *ctx.visible_params]
    hourly_sql = f"""{HOURLY_ARM}
        WHERE u.resolution = '1h' AND u.sensor_id = {sensor} AND u.property = ({prop})::text AND ({hourly})
          AND u.sensor_id = ANY(ARRAY({ctx.visible_sql}))"""
    hourly_params = [_sum_properties(), *sp, *pp, *hp, *ctx.visible_params]
    if hourly == "%s" and hp in ([True], [False]):
        return (hourly_sql, hourly_params) if hp[0] else (raw_sql, raw_params)
    return f"{raw_sql} UNION ALL {hourly_sql}", [*raw_params, *hourly_params]


# --- ids -------------------------------------------------------------------------------------------------
DATASTREAM_ID = re.compile(r"^(\d{1,18}):([a-z0-9_]{1,32})(:hourly)?$")
OBSERVATION_ID = re.compile(r"^(\d{1,18}):([a-z0-9_]{1,32})(:hourly)?:(-?\d{1,18})$")


def _int_key(value: str) -> dict[str, Any]:
    return {"id": int(value)} if re.fullmatch(r"\d{1,18}", value) else {}


def _property_key(value: str) -> dict[str, Any]:
    return {"id": value}


def _datastream_key(value: str) -> dict[str, Any]:
    found = DATASTREAM_ID.match(value)
    if not found:
        return {}
    return {"sensor_id": int(found[1]), "property": found[2], "hourly": bool(found[3])}


def _observation_key(value: str) -> dict[str, Any]:
    found = OBSERVATION_ID.match(value)
    if not found:
        return {}
    try:
        at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(found[4]))
    except OverflowError:
        return {}
    return {"sensor_id": int(found[1]), "property": found[2], "hourly": bool(found[3]), "phenomenon_time": at}


# --- the entity types --------------------------------------------------------------------------------------
def _common(*, id_kind: Kind = "number") -> dict[str, Prop]:
    return {"@iot.id": Prop("id", id_kind), "id": Prop("id", id_kind)}


DS_PAIRS = (("sensor_id", "sensor_id"), ("property", "property"), ("hourly", "hourly"))
DS_ORDER = ("sensor_id", "property", "hourly")

TYPES: dict[str, EntityType] = {
    t.name: t
    for t in (
        EntityType(
            "Thing",
            "Things",
            things,
            {**_common(), "name": Prop("name", "string"), "description": Prop("description", "string"),
             "properties": Prop("properties", "json")},
            {"Datastreams": Nav("Datastream", True, (("id", "sensor_id"),)),
             "Locations": Nav("Location", True, (("id", "id"),))},
            _int_key,
        ),
        EntityType(
            "Location",
            "Locations",
            locations,
            {**_common(), "name": Prop("name", "string"), "description": Prop("description", "string"),
             "encodingType": Prop("encoding_type", "string"), "location": Prop("geom", "geometry"),
             "properties": Prop("properties", "json")},
            {"Things": Nav("Thing", True, (("id", "id"),))},
            _int_key,
        ),
        EntityType(
            "Sensor",
            "Sensors",
            sensors,
            {**_common(), "name": Prop("name", "string"), "description": Prop("description", "string"),
             "encodingType": Prop("encoding_type", "string"), "metadata": Prop("metadata", "string"),
             "properties": Prop("properties", "json")},
            {"Datastreams": Nav("Datastream", True, (("id", "sensor_id"),))},
            _int_key,
        ),
        EntityType(
            "FeatureOfInterest",
            "FeaturesOfInterest",
            locations,
            {**_common(), "name": Prop("name", "string"), "description": Prop("description", "string"),
             "encodingType": Prop("encoding_type", "string"), "feature": Prop("geom", "geometry"),
             "properties": Prop("properties", "json")},
            {"Observations": Nav("Observation", True, (("id", "sensor_id"),))},
            _int_key,
        ),
        EntityType(
            "ObservedProperty",
            "ObservedProperties",
            observed_properties,
            {**_common(id_kind="string"), "name": Prop("name", "string"), "definition": Prop("definition", "string"),
             "description": Prop("description", "string"), "properties": Prop("properties", "json")},
            {"Datastreams": Nav("Datastream", True, (("id", "property"),))},
            _property_key,
        ),
        EntityType(
            "Datastream",
            "Datastreams",
            datastreams,
            {**_common(id_kind="string"), "name": Prop("name", "string"), "description": Prop("description", "string"),
             "unitOfMeasurement": Prop("unit_of_measurement", "json"),
             "observationType": Prop("observation_type", "string"), "observedArea": Prop("geom", "geometry"),
             "phenomenonTime": Prop("", "string", filterable=False), "resultTime": Prop("", "string", filterable=False),
             "properties": Prop("properties", "json")},
            {"Thing": Nav("Thing", False, (("sensor_id", "id"),)),
             "Sensor": Nav("Sensor", False, (("sensor_id", "id"),)),
             "ObservedProperty": Nav("ObservedProperty", False, (("property", "id"),)),
             "Observations": Nav("Observation", True, DS_PAIRS)},
            _datastream_key,
            tiebreak=DS_ORDER,
            default_order=(),  # by sensor, property, raw before hourly (the tiebreak)
            hidden=("sensor_id", "property", "hourly"),
        ),
        EntityType(
            "Observation",
            "Observations",
            observations,
            {**_common(id_kind="string"), "phenomenonTime": Prop("phenomenon_time", "datetime"),
             "resultTime": Prop("result_time", "datetime"), "result": Prop("result", "number"),
             "parameters": Prop("parameters", "json")},
            {"Datastream": Nav("Datastream", False, DS_PAIRS),
             "FeatureOfInterest": Nav("FeatureOfInterest", False, (("sensor_id", "id"),))},
            _observation_key,
            tiebreak=(*DS_ORDER, "phenomenon_time"),
            default_order=(("phenomenonTime", True),),
            hidden=("sensor_id", "property", "hourly", "phenomenon_end"),
        ),
    )
}  # fmt: skip
BY_PLURAL: dict[str, EntityType] = {t.plural: t for t in TYPES.values()}
