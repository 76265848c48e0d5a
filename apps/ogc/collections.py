"""The feature collections the OGC API offers, each a SQL source of rows the role may see.

A collection's rows come from the same querysets (and role filters) as the GeoJSON API, or, for a published
scenario comparison, from the simulation's difference selector; apps/ogc/features.py wraps that SQL with the
request's filters, paging and CRS, and PostGIS renders the GeoJSON."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, QuerySet
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from apps.assets.api.serializers import UtilityAssetSerializer
from apps.assets.models import UtilityAsset
from apps.assets.selectors import assets_visible_to
from apps.buildings.api.serializers import BuildingSerializer
from apps.buildings.models import Building
from apps.core.views import feature_fields
from apps.districts.api.serializers import DistrictSerializer
from apps.districts.models import District
from apps.roads.api.serializers import RoadNodeSerializer, RoadSegmentSerializer
from apps.roads.models import RoadNode, RoadSegment
from apps.sensors.api.serializers import SensorSerializer
from apps.sensors.models import Sensor
from apps.simulation.selectors import DIFFERENCE_FIELDS, difference_rows_sql, published_comparisons

ODBL = "Map data (c) OpenStreetMap contributors, ODbL."
PUBLISHED_PREFIX = "published-"

# JSON Schema types of the model fields the collections expose (queryables and property filters).
_TYPES = {
    "AutoField": "integer", "BigAutoField": "integer", "BigIntegerField": "integer", "IntegerField": "integer",
    "PositiveSmallIntegerField": "integer", "PositiveIntegerField": "integer", "SmallIntegerField": "integer",
    "ForeignKey": "integer", "FloatField": "number", "DecimalField": "number", "BooleanField": "boolean",
    "DateTimeField": "date-time", "CharField": "string", "SlugField": "string", "TextField": "string",
}  # fmt: skip

SourceSQL = tuple[str, list[Any]]


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    rows: Callable[[Any], SourceSQL]  # user -> SQL with columns pk, geom (EPSG:4326) and each property
    properties: dict[str, str]  # property -> JSON Schema type ("date-time": a string with that format)
    geometry: str  # GeoJSON geometry type, for the queryables and HTML
    temporal: str | None = None  # the property `datetime` filters on
    tile_layer: str | None = None  # apps/tiles layer serving this collection as vector tiles
    attribution: str = ODBL
    # True: the rows change only through imports and the admin, which bump the data version, so derived
    # figures (the extent) may be cached under it. Sensors are also created by commands that do not.
    versioned: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # more collection metadata (a published comparison's)


def _queryset_rows(queryset: QuerySet, properties: dict[str, str]) -> SourceSQL:
    sql, params = queryset.values("pk", "geom", *properties).query.sql_with_params()
    return sql, list(params)


def _model_properties(model: type[Model], serializer: type[GeoFeatureModelSerializer]) -> dict[str, str]:
    return {
        name: _TYPES.get(model._meta.get_field(name).get_internal_type(), "string")
        for name in feature_fields(serializer)
    }


def _model_collection(
    *,
    id: str,
    title: str,
    description: str,
    model: type[Model],
    serializer: type[GeoFeatureModelSerializer],
    geometry: str,
    visible: Callable[[Any], QuerySet] | None = None,  # the rows a user may see; None: every row (open data)
    temporal: str | None = None,
    tile_layer: str | None = None,
    versioned: bool = True,
) -> Collection:
    properties = _model_properties(model, serializer)
    return Collection(
        id=id,
        title=title,
        description=description,
        rows=lambda user: _queryset_rows(visible(user) if visible else model._default_manager.all(), properties),
        properties=properties,
        geometry=geometry,
        temporal=temporal,
        tile_layer=tile_layer,
        versioned=versioned,
    )


CITY_COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        _model_collection(
            id="buildings", title="Buildings", description="Building footprints with heights (OpenStreetMap).",
            model=Building, serializer=BuildingSerializer,
            geometry="MultiPolygon", tile_layer="buildings",
        ),
        _model_collection(
            id="road-segments", title="Road segments",
            description="Directed road segments between junctions, with lanes and speed limits.",
            model=RoadSegment, serializer=RoadSegmentSerializer,
            geometry="LineString", tile_layer="roads",
        ),
        _model_collection(
            id="road-nodes", title="Road nodes", description="Junctions and dead ends of the road network.",
            model=RoadNode, serializer=RoadNodeSerializer,
            geometry="Point",
        ),
        _model_collection(
            id="utility-assets", title="Utility assets",
            description="Street lamps, substations, lines, pipes, chargers. The public sees the public kinds.",
            model=UtilityAsset, serializer=UtilityAssetSerializer,
            visible=assets_visible_to, geometry="Geometry", tile_layer="assets",
        ),
        _model_collection(
            id="districts", title="Districts", description="Administrative districts of the city.",
            model=District, serializer=DistrictSerializer,
            geometry="MultiPolygon", tile_layer="districts",
        ),
        _model_collection(
            id="sensors", title="Sensors",
            description="Traffic and air-quality sensors (open data); energy meters for signed-in staff only.",
            model=Sensor, serializer=SensorSerializer, visible=lambda user: Sensor.objects.visible_to(user),
            geometry="Point", temporal="installed_at", versioned=False,
        ),
    )
}  # fmt: skip

_NAMED_PARAM = re.compile(r"%\((\w+)\)s")


def _positional(sql: str, params: dict[str, Any]) -> SourceSQL:
    """Named-parameter SQL as positional (the collections' wrapper adds positional parameters)."""
    ordered: list[Any] = []

    def take(match: re.Match[str]) -> str:
        ordered.append(params[match.group(1)])
        return "%s"

    return _NAMED_PARAM.sub(take, sql), ordered


def _published_collection(comparison: Any) -> Collection:
    properties = {"name": "string", **dict.fromkeys(DIFFERENCE_FIELDS, "number")}
    run, against = comparison.run, comparison.against

    def rows(user: Any) -> SourceSQL:
        return _positional(*difference_rows_sql(run, against, interval=None))

    return Collection(
        id=f"{PUBLISHED_PREFIX}{comparison.pk}",
        title=f"Scenario results: {comparison.title}",
        description=(
            f"A published comparison: per road segment, the flow (vehicles/h) and speed (km/h) of scenario "
            f"{run.scenario.name!r} against {against.scenario.name!r}, and their differences. {comparison.summary}"
        ).strip(),
        rows=rows,
        properties=properties,
        geometry="LineString",
        attribution=f"{ODBL} Simulated with Eclipse SUMO.",
        extra={"published_at": comparison.published_at.isoformat(), "run": run.pk, "against": against.pk},
    )


def collections_for(user: Any) -> list[Collection]:
    """Every collection, the published comparisons last (newest first)."""
    return [*CITY_COLLECTIONS.values(), *(_published_collection(c) for c in published_comparisons())]


def collection(collection_id: str) -> Collection | None:
    if collection_id in CITY_COLLECTIONS:
        return CITY_COLLECTIONS[collection_id]
    number = collection_id[len(PUBLISHED_PREFIX) :]
    if collection_id.startswith(PUBLISHED_PREFIX) and number.isascii() and number.isdigit() and len(number) <= 9:
        found = published_comparisons().filter(pk=int(number)).first()
        return _published_collection(found) if found is not None else None
    return None
