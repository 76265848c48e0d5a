"""The scenario document: what the API accepts, `run_scenario` reads and a run stores. Validated field by
field (DRF serializers, so every refusal names its field, e.g. edits[2].segment), then against the stored
city (the segments exist on the chosen network, a closure does not cut a district off, counts exist for the
chosen date). docs/scenarios.md describes every key."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.db import connection
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.conf import local_time_zone
from apps.districts.models import District
from apps.roads.networks import CITY, network_names, segments_of

from . import conf
from .sumo.network import DRIVABLE

DAY_S = 24 * 3600
EDIT_TYPES = ("close_segment", "speed_limit", "lanes", "demand_scale", "ev_share", "add_charging_station")
SEGMENT_EDITS = ("close_segment", "speed_limit", "lanes")


class RandomDemand(serializers.Serializer):
    source = serializers.ChoiceField(choices=["random"])
    period = serializers.FloatField(
        default=1.0, min_value=0.1, max_value=3600, help_text="Seconds between departures (randomTrips -p)."
    )
    seed = serializers.IntegerField(default=1, min_value=0, max_value=2**31 - 1)
    fringe_factor = serializers.FloatField(default=5.0, min_value=1.0, max_value=1000.0)
    scale = serializers.FloatField(default=1.0, min_value=0.0, max_value=10.0)


class CountsDemand(serializers.Serializer):
    source = serializers.ChoiceField(choices=["counts"])
    date = serializers.DateField(help_text="The day whose stored counts the routes are fitted to.")
    seed = serializers.IntegerField(default=1, min_value=0, max_value=2**31 - 1)
    scale = serializers.FloatField(default=1.0, min_value=0.0, max_value=10.0)


@extend_schema_field(
    {
        "type": "object",
        "description": "{source: random, period, seed, fringe_factor, scale} or {source: counts, date, seed, scale}",
        "properties": {"source": {"type": "string", "enum": ["random", "counts"]}},
        "required": ["source"],
    }
)
class DemandField(serializers.Field):
    """`{"source": "random", ...}` or `{"source": "counts", ...}`, each validated by its own serializer."""

    default_error_messages = {"invalid": "must be an object with a source of 'random' or 'counts'"}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or data.get("source") not in ("random", "counts"):
            self.fail("invalid")
        serializer = (RandomDemand if data["source"] == "random" else CountsDemand)(data=data)
        if not serializer.is_valid():
            raise serializers.ValidationError(serializer.errors)
        value = dict(serializer.validated_data)
        if "date" in value:
            value["date"] = value["date"].isoformat()
        return value

    def to_representation(self, value: Any) -> Any:
        return value


class SegmentEdit(serializers.Serializer):
    type = serializers.ChoiceField(choices=SEGMENT_EDITS)
    segment = serializers.IntegerField(min_value=1)
    kmh = serializers.FloatField(required=False, min_value=5, max_value=200)
    lanes = serializers.IntegerField(required=False, min_value=1, max_value=8)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        needs = {"speed_limit": "kmh", "lanes": "lanes"}.get(attrs["type"])
        if needs and needs not in attrs:
            raise serializers.ValidationError({needs: [f"required for a {attrs['type']} edit"]})
        return {k: v for k, v in attrs.items() if k in ("type", "segment", needs)}


class DemandScaleEdit(serializers.Serializer):
    type = serializers.ChoiceField(choices=["demand_scale"])
    factor = serializers.FloatField(min_value=0.0, max_value=10.0)
    district = serializers.IntegerField(required=False, min_value=1)
    direction = serializers.ChoiceField(choices=["from", "to", "both"], default="both")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "district" not in attrs:
            attrs.pop("direction", None)
        return attrs


class EvShareEdit(serializers.Serializer):
    type = serializers.ChoiceField(choices=["ev_share"])
    share = serializers.FloatField(min_value=0.0, max_value=1.0, help_text="Share of the cars that are electric.")


class ChargingStationEdit(serializers.Serializer):
    type = serializers.ChoiceField(choices=["add_charging_station"])
    segment = serializers.IntegerField(min_value=1)
    position_m = serializers.FloatField(default=0.0, min_value=0.0, max_value=10000.0)
    power_kw = serializers.FloatField(default=22.0, min_value=2.0, max_value=400.0)
    points = serializers.IntegerField(default=2, min_value=1, max_value=50)


EDIT_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    "demand_scale": DemandScaleEdit,
    "ev_share": EvShareEdit,
    "add_charging_station": ChargingStationEdit,
}


class FleetDocument(serializers.Serializer):
    petrol = serializers.FloatField(min_value=0.0, max_value=1.0)
    diesel = serializers.FloatField(min_value=0.0, max_value=1.0)
    electric = serializers.FloatField(min_value=0.0, max_value=1.0)
    classes = serializers.DictField(
        child=serializers.RegexField(r"^HBEFA4/PC_(petrol|diesel)_[A-Za-z0-9_-]{1,40}$"),
        required=False,
        help_text="HBEFA 4 emission class per fuel, e.g. {'diesel': 'HBEFA4/PC_diesel_Euro-5'}.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        total = attrs["petrol"] + attrs["diesel"] + attrs["electric"]
        if abs(total - 1.0) > 1e-6:
            raise serializers.ValidationError(f"the shares must add up to 1 (they add up to {total:g})")
        for fuel, name in attrs.get("classes", {}).items():
            if fuel not in ("petrol", "diesel") or f"_{fuel}_" not in name:
                raise serializers.ValidationError({"classes": [f"{fuel!r}: {name!r} is not a {fuel} car class"]})
        return attrs


class ChargingDocument(serializers.Serializer):
    threshold = serializers.FloatField(
        default=0.2, min_value=0.0, max_value=1.0, help_text="Charge on the way below this state of charge."
    )
    target = serializers.FloatField(
        default=0.8, min_value=0.1, max_value=1.0, help_text="State of charge a stop charges to."
    )
    search_radius_m = serializers.FloatField(default=500.0, min_value=0.0, max_value=5000.0)
    max_stop_min = serializers.FloatField(default=30.0, min_value=1.0, max_value=240.0)
    destination_kw = serializers.FloatField(
        default=11.0, min_value=1.0, max_value=50.0, help_text="Charging power at home or work."
    )


@extend_schema_field(
    {
        "type": "object",
        "description": "close_segment {segment}, speed_limit {segment, kmh}, lanes {segment, lanes}, "
        "demand_scale {factor, district?, direction?}, ev_share {share}, "
        "add_charging_station {segment, position_m, power_kw, points}",
        "properties": {"type": {"type": "string", "enum": list(EDIT_TYPES)}},
        "required": ["type"],
    }
)
class EditField(serializers.Field):
    default_error_messages = {"invalid": f"must be an object whose type is one of {', '.join(EDIT_TYPES)}"}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or data.get("type") not in EDIT_TYPES:
            self.fail("invalid")
        serializer = EDIT_SERIALIZERS.get(data["type"], SegmentEdit)(data=data)
        if not serializer.is_valid():
            raise serializers.ValidationError(serializer.errors)
        return dict(serializer.validated_data)

    def to_representation(self, value: Any) -> Any:
        return value


class ScenarioDocument(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    network = serializers.CharField(default=CITY, max_length=48)
    begin = serializers.IntegerField(min_value=0, max_value=DAY_S - 60, help_text="Seconds of the day.")
    end = serializers.IntegerField(min_value=60, max_value=DAY_S, help_text="Seconds of the day, after begin.")
    interval = serializers.IntegerField(default=900, min_value=60, max_value=3600, help_text="Seconds per result.")
    time_zone = serializers.CharField(required=False, max_length=64, help_text="Of the window; default the city's.")
    demand = DemandField()
    edits = serializers.ListField(child=EditField(), default=list, max_length=500)
    seeds = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=2**31 - 1), default=lambda: [1], min_length=1
    )
    base = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    energy = serializers.BooleanField(
        default=True, help_text="Emissions, electric cars, charging and the grid (false: traffic only)."
    )
    fleet = FleetDocument(required=False, help_text="Shares of the car fleet; default the city's (conf).")
    charging = ChargingDocument(required=False)
    day = serializers.DateField(
        required=False, help_text="The day building loads follow; default the counts' date, else today."
    )

    def validate_network(self, value: str) -> str:
        names = network_names()
        if value not in names:
            raise serializers.ValidationError(f"unknown network {value!r}; the twin has {', '.join(names)}")
        return value

    def validate_time_zone(self, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise serializers.ValidationError(f"{value!r} is not a time zone name (e.g. Europe/Rome)") from exc
        return value

    def validate_seeds(self, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("seeds must be different from each other")
        if len(value) > conf.max_seeds():
            raise serializers.ValidationError(f"at most {conf.max_seeds()} seeds per run")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] <= attrs["begin"]:
            raise serializers.ValidationError({"end": ["must be after begin"]})
        if attrs["end"] - attrs["begin"] > conf.max_window_s():
            raise serializers.ValidationError({"end": [f"the window may be at most {conf.max_window_s()} s long"]})
        attrs.setdefault("time_zone", local_time_zone())
        attrs["fleet"] = dict(attrs.get("fleet") or conf.default_fleet())
        attrs["charging"] = dict(attrs.get("charging") or ChargingDocument(data={}).run_validation({}))
        day = attrs.get("day") or attrs["demand"].get("date") or _today(attrs["time_zone"])
        attrs["day"] = day if isinstance(day, str) else day.isoformat()
        _check_edits(attrs)
        if attrs["demand"]["source"] == "counts":
            _check_counts(attrs)
        return attrs


def _today(time_zone: str) -> str:
    from django.utils import timezone

    return timezone.now().astimezone(zoneinfo.ZoneInfo(time_zone)).date().isoformat()


def _check_edits(doc: dict[str, Any]) -> None:
    """Segments on the network and drivable, one kind of change per segment, districts that exist, and no
    closure that leaves a district with no way out."""
    edits: list[dict[str, Any]] = doc["edits"]
    errors: dict[str, Any] = {}
    ids = {e["segment"] for e in edits if "segment" in e}
    segments = segments_of(doc["network"]).filter(id__in=ids)
    if doc["network"] == CITY:
        segments = segments.filter(highway__in=list(DRIVABLE))
    known = set(segments.values_list("id", flat=True))
    districts = set(
        District.objects.filter(id__in={e["district"] for e in edits if "district" in e}).values_list("id", flat=True)
    )
    changed: dict[int, str] = {}
    if sum(1 for e in edits if e["type"] == "ev_share") > 1:
        errors["ev_share"] = ["at most one ev_share edit"]
    for index, edit in enumerate(edits):
        if edit["type"] == "add_charging_station":
            if edit["segment"] not in known:
                errors[str(index)] = {
                    "segment": [f"segment {edit['segment']} is not a drivable segment of network {doc['network']!r}"]
                }
            continue
        if "segment" in edit:
            segment = edit["segment"]
            if segment not in known:
                errors[str(index)] = {
                    "segment": [f"segment {segment} is not a drivable segment of network {doc['network']!r}"]
                }
            elif (
                segment in changed
                and changed[segment] != edit["type"]
                or segment in changed
                and edit["type"] == "close_segment"
            ):
                errors[str(index)] = {"segment": [f"segment {segment} already has a {changed[segment]} edit"]}
            changed.setdefault(segment, edit["type"])
        elif "district" in edit and edit["district"] not in districts:
            errors[str(index)] = {"district": [f"no district {edit['district']}"]}
    closed_set = {s for s, kind in changed.items() if kind == "close_segment"}
    for index, edit in enumerate(edits):
        if edit["type"] == "add_charging_station" and edit["segment"] in closed_set:
            errors[str(index)] = {"segment": [f"segment {edit['segment']} is closed in this scenario"]}
    if not errors:
        closed = sorted(closed_set)
        cut_off = _districts_cut_off(doc["network"], closed)
        if cut_off:
            errors["closures"] = [f"closing these segments leaves no way out of {', '.join(cut_off)}"]
    if errors:
        raise serializers.ValidationError({"edits": errors})


def _districts_cut_off(network: str, closed: list[int]) -> list[str]:
    """Districts all of whose exits (drivable segments leaving them) are closed. PostGIS finds the exits."""
    if not closed:
        return []
    segments = segments_of(network)
    if network == CITY:
        segments = segments.filter(highway__in=list(DRIVABLE))
    ids_sql, ids_params = segments.values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH exits AS (
                SELECT d.id AS district, d.name, s.id AS segment
                FROM districts_district d
                JOIN roads_roadsegment s ON ST_Intersects(d.geom, ST_StartPoint(s.geom))
                                        AND NOT ST_Intersects(d.geom, ST_EndPoint(s.geom))
                WHERE s.id IN ({ids_sql})
            )
            SELECT name FROM exits GROUP BY district, name
            HAVING bool_and(segment = ANY(%s)) ORDER BY name
            """,
            [*ids_params, closed],
        )
        return [row[0] for row in cursor.fetchall()]


def _check_counts(doc: dict[str, Any]) -> None:
    from .counts import observed_counts

    if not observed_counts(doc):
        raise serializers.ValidationError(
            {
                "demand": {
                    "date": [
                        f"no vehicle counts are stored for network {doc['network']!r} on {doc['demand']['date']} "
                        "between begin and end; import them with import_counts or choose another date"
                    ]
                }
            }
        )


def validate_document(data: Any) -> dict[str, Any]:
    """The document, checked and with its defaults filled in; raises serializers.ValidationError."""
    if not isinstance(data, dict):
        raise serializers.ValidationError({"non_field_errors": ["a scenario document is a JSON object"]})
    serializer = ScenarioDocument(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
