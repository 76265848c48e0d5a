"""Streaming topics of telemetry: `readings` (live values, filtered by kind and bbox) and `alerts`."""

from __future__ import annotations

from typing import Any

from apps.accounts.permissions import has_role
from apps.core.geo import BBox, BBoxError
from apps.sensors.models import SensorKind
from apps.streaming.topics import Item, SubscriptionError, Topic, refuse_unknown_params, register

READINGS_GROUP = "telemetry.readings"
ALERTS_GROUP = "telemetry.alerts"
LIVE_ROLES = ("planner", "operator", "gis_staff", "admin")
ALERT_ROLES = ("operator", "admin")


READINGS_PARAMS = ("kinds", "bbox")
_BBOX_FORM = "bbox must be [minlon, minlat, maxlon, maxlat] or 'minlon,minlat,maxlon,maxlat'"


def _authorize_readings(user: Any, params: dict[str, Any]) -> dict[str, Any]:
    # Every param is checked for its type here: a list where a string belongs must be an error message,
    # not an exception in the consumer.
    if not has_role(user, *LIVE_ROLES):
        raise SubscriptionError("forbidden", "live readings need a planner, operator, gis_staff or admin account")
    refuse_unknown_params("readings", params, READINGS_PARAMS)
    kinds = params.get("kinds")
    if kinds is None or kinds == []:
        kinds = list(SensorKind.values)
    elif not (isinstance(kinds, list) and all(isinstance(k, str) and k in SensorKind.values for k in kinds)):
        raise SubscriptionError("invalid", f"kinds must be a list of {', '.join(SensorKind.values)}")
    bbox = None
    raw = params.get("bbox")
    if raw is not None:
        if isinstance(raw, list) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw):
            text = ",".join(str(v) for v in raw)
        elif isinstance(raw, str):
            text = raw
        else:
            raise SubscriptionError("invalid", _BBOX_FORM)
        try:
            bbox = BBox.parse(text).as_tuple()
        except BBoxError as exc:
            raise SubscriptionError("invalid", str(exc)) from exc
    return {"kinds": sorted(set(kinds)), "bbox": bbox}


def _wants_reading(item: Item, params: dict[str, Any]) -> bool:
    if item["kind"] not in params["kinds"]:
        return False
    box = params["bbox"]
    return box is None or (box[0] <= item["lon"] <= box[2] and box[1] <= item["lat"] <= box[3])


def _snapshot_readings(user: Any, params: dict[str, Any]) -> list[Item]:
    from .selectors import latest_items

    return latest_items(user=user, kinds=params["kinds"], bbox=params["bbox"])


def _authorize_alerts(user: Any, params: dict[str, Any]) -> dict[str, Any]:
    if not has_role(user, *ALERT_ROLES):
        raise SubscriptionError("forbidden", "alerts are for operators and admins")
    refuse_unknown_params("alerts", params, ())
    return {}


def _snapshot_alerts(user: Any, params: dict[str, Any]) -> list[Item]:
    from .selectors import open_alert_items

    return open_alert_items()


def register_topics() -> None:
    register(
        Topic(
            name="readings",
            group=READINGS_GROUP,
            authorize=_authorize_readings,
            snapshot=_snapshot_readings,
            wants=_wants_reading,
            key=lambda item: item["sensor"],
        )
    )
    register(
        Topic(
            name="alerts",
            group=ALERTS_GROUP,
            authorize=_authorize_alerts,
            snapshot=_snapshot_alerts,
            wants=lambda item, params: True,
            key=lambda item: item["id"],
            in_snapshot=lambda item: not item.get("resolved_at"),
        )
    )
