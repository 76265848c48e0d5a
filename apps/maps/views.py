"""The browser pages (the front page is apps/portal). Data reaches them through the API and the tiles, which check roles themselves."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.contrib.gis.db.models import Extent
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from apps.accounts.models import Role
from apps.accounts.permissions import has_role
from apps.buildings.models import Building
from apps.sensors.models import Sensor, SensorKind
from apps.telemetry.catalog import CATALOG, HEADLINE
from apps.telemetry.conf import stale_after_s
from apps.telemetry.models import QuarantineReason
from apps.telemetry.selectors import quarantine_reason_counts, quarantined

# Central Helsinki: where the map opens when nothing is loaded yet.
FALLBACK_BOUNDS = [24.92, 60.16, 24.96, 60.175]
LIVE_MARGIN_DEG = 0.001  # about 100 m at Helsinki's latitude


@require_safe
def city_map(request: HttpRequest) -> HttpResponse:
    extent = Building.objects.aggregate(e=Extent("geom"))["e"]
    bounds = list(extent) if extent else FALLBACK_BOUNDS
    return render(request, "maps/map.html", {"map_config": {"bounds": bounds}})


@login_required
@require_safe
@ensure_csrf_cookie  # the page's Acknowledge button sends it back as X-CSRFToken
def live_map(request: HttpRequest) -> HttpResponse:
    """The traffic operators' live map: sensors coloured by their latest value, streamed over /ws/, and
    the open alerts. The page reads everything else through the websocket and the API."""
    if not has_role(request.user, Role.OPERATOR, Role.ADMIN):
        raise PermissionDenied("The live map is for traffic operators and admins.")
    config = {
        "bounds": _live_bounds(request.user),
        "stale_after_s": stale_after_s(),
        "kinds": {kind.value: kind.label for kind in SensorKind},
        "catalog": {
            str(kind): [{"name": p.name, "label": p.label, "unit": p.unit} for p in props.values()]
            for kind, props in CATALOG.items()
        },
        "headline": {str(kind): name for kind, name in HEADLINE.items()},
        "username": request.user.get_username(),
    }
    return render(request, "maps/live.html", {"live_config": config})


QUARANTINE_PAGE_SIZE = 50


@login_required
@require_safe
def quarantine_page(request: HttpRequest) -> HttpResponse:
    """What the quality gate refused, newest first, for operators and admins: filter by reason, sensor and
    source; each reason in words with the gate's detail and the message as received."""
    if not has_role(request.user, Role.OPERATOR, Role.ADMIN):
        raise PermissionDenied("The quarantine of refused readings is for traffic operators and admins.")
    reason = request.GET.get("reason", "")
    reason = reason if reason in QuarantineReason.values else ""
    sensor = request.GET.get("sensor", "").strip()[:64].replace("\x00", "")
    source = request.GET.get("source", "")
    source = source if source in ("mqtt", "http") else ""
    rows = quarantined(reason=reason or None, sensor=sensor or None, source=source or None)
    page = Paginator(rows, QUARANTINE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = {k: v for k, v in (("reason", reason), ("sensor", sensor), ("source", source)) if v}
    context = {
        "page": page,
        "reasons": [(value, label, n) for value, label, n in quarantine_reason_counts()],
        "filters": {"reason": reason, "sensor": sensor, "source": source},
        "query": urlencode(query),
    }
    return render(request, "maps/quarantine.html", context)


def _live_bounds(user: Any) -> list[float]:
    """The city's extent including every sensor the user may see (sensors can sit beyond the buildings):
    the page subscribes to readings inside it."""
    extents = [
        Building.objects.aggregate(e=Extent("geom"))["e"],
        Sensor.objects.visible_to(user).filter(active=True).aggregate(e=Extent("geom"))["e"],
    ]
    found = [e for e in extents if e]
    if not found:
        return FALLBACK_BOUNDS
    # A little margin: a sensor on the edge stays inside the box, and one lone sensor is still a box.
    return [
        min(e[0] for e in found) - LIVE_MARGIN_DEG,
        min(e[1] for e in found) - LIVE_MARGIN_DEG,
        max(e[2] for e in found) + LIVE_MARGIN_DEG,
        max(e[3] for e in found) + LIVE_MARGIN_DEG,
    ]
