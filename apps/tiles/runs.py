"""GET /tiles/runs/<run>/<z>/<x>/<y>.pbf?interval=: a scenario run's per-segment results as a vector tile
(layer "results": segment, name, flow_veh_h, speed_kmh, travel_time_s, waiting_time_s, density; means over
the run's seeds, as GET /api/runs/<id>/segments/). Planners and admins only; cached privately. A finished
run's results never change, so its tiles are cached under the run, the interval and the city's data version."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_safe

from apps.simulation.models import RunState
from apps.simulation.selectors import can_plan, interval_starts, results_sql, runs_visible_to

from . import cache as tile_cache
from .layers import BUFFER, EXTENT
from .views import MAX_ZOOM, MVT

_SQL = f"""
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => {BUFFER / EXTENT}), 4326) AS env4326
),
features AS (
    SELECT ST_AsMVTGeom(ST_Transform(g.geom, 3857), bounds.env, {EXTENT}, {BUFFER}, true) AS mvt_geom,
           g.id, g.name, round(a.flow_veh_h::numeric, 1)::float8 AS flow_veh_h,
           round(a.speed_kmh::numeric, 1)::float8 AS speed_kmh, round(a.travel_time_s::numeric, 1)::float8 AS travel_time_s,
           round(a.waiting_time_s::numeric, 1)::float8 AS waiting_time_s, round(a.density::numeric, 2)::float8 AS density
    FROM ({{results}}) a JOIN roads_roadsegment g ON g.id = a.segment_id, bounds
    WHERE g.geom && bounds.env4326
)
SELECT ST_AsMVT(features.*, 'results', {EXTENT}, 'mvt_geom', 'id') FROM features
"""


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "detail": message}, status=status)


@require_safe
def run_tile(request: HttpRequest, run: int, z: int, x: int, y: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return _error(401, "not_authenticated", "sign in as a planner to see scenario results")
    if not can_plan(request.user):
        return _error(403, "permission_denied", "scenario results are for planners and admins")
    found = runs_visible_to(request.user).filter(pk=run).first()
    if found is None:
        return _error(404, "not_found", f"no scenario run {run}")
    if not 0 <= z <= MAX_ZOOM or not (0 <= x < (1 << z) and 0 <= y < (1 << z)):
        return _error(400, "invalid_tile", f"tile {z}/{x}/{y} does not exist")
    raw = request.GET.get("interval", "")
    interval = None
    if raw:
        if not raw.isdigit() or int(raw) not in interval_starts(found):
            return _error(400, "invalid", f"interval {raw[:20]!r} is not an interval start of run {run}")
        interval = int(raw)

    final = found.state == RunState.SUCCEEDED
    key = tile_cache.tile_key(tile_cache.data_version(), f"run{run}-{interval}", "planner", z, x, y)
    data = tile_cache.get_tile(key) if final else None
    if data is None:
        results, params = results_sql(found, interval)
        with connection.cursor() as cursor:
            cursor.execute(_SQL.format(results=results), {**params, "z": z, "x": x, "y": y})
            data = bytes(cursor.fetchone()[0] or b"")
        if final:
            tile_cache.put_tile(key, data)

    etag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(data, content_type=MVT)
    response["ETag"] = etag
    patch_cache_control(response, private=True, max_age=settings.CITYTWIN_TILE_MAX_AGE if final else 0)
    patch_vary_headers(response, ["Cookie", "Authorization"])
    return response
