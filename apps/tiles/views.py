"""GET/HEAD /tiles/<layer>/<z>/<x>/<y>.pbf: a Mapbox Vector Tile from PostGIS.

Bad coordinates are a 400 with a message; an unknown layer a 404; tiles whose content depends on the
role (assets) are cached privately and vary on the session and token. The hot path of these URLs is
apps/tiles/lean.py, in front of Django; this view answers what the lean path leaves to Django (errors,
signed-in users of a private layer, requests it cannot vouch for) and must answer the same."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_safe

from apps.accounts.identity import user_of_token

from . import cache as tile_cache
from .layers import LAYERS

MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 22


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse({"code": "invalid_tile", "detail": message}, status=400)


def _user(request: HttpRequest) -> Any:
    """The session's user, or the user of an API token (map clients outside the browser use those)."""
    if request.user.is_authenticated:
        return request.user
    return user_of_token(request.headers.get("Authorization", "")) or request.user


@require_safe
def tile(request: HttpRequest, layer: str, z: int, x: int, y: int) -> HttpResponse:
    spec = LAYERS.get(layer)
    if spec is None:
        return JsonResponse(
            {"code": "unknown_layer", "detail": f"no tile layer {layer!r}; layers: {', '.join(LAYERS)}"}, status=404
        )
    if not 0 <= z <= MAX_ZOOM:
        return _bad_request(f"zoom {z} is out of range 0..{MAX_ZOOM}")
    size = 1 << z
    if not (0 <= x < size and 0 <= y < size):
        return _bad_request(f"tile {x}/{y} does not exist at zoom {z} (0..{size - 1})")

    params = spec.params(z=z, x=x, y=y, user=_user(request) if not spec.public else None)
    if z < spec.min_zoom:
        data = b""
    else:
        key = tile_cache.tile_key(tile_cache.data_version(), layer, spec.audience(params), z, x, y)
        cached = tile_cache.get_tile(key)
        if cached is not None:
            data = cached
        else:
            with connection.cursor() as cursor:
                cursor.execute(spec.sql(), params)
                data = bytes(cursor.fetchone()[0] or b"")
            tile_cache.put_tile(key, data)

    etag = tile_cache.etag_of(data)
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(data, content_type=MVT)
        response["Content-Length"] = str(len(data))
    response["ETag"] = etag
    max_age = settings.CITYTWIN_TILE_MAX_AGE
    if spec.public:
        patch_cache_control(response, public=True, max_age=max_age)
        # Open data: other map clients (QGIS, GDAL, other sites) may read these tiles.
        response["Access-Control-Allow-Origin"] = "*"
    else:
        patch_cache_control(response, private=True, max_age=max_age)
        patch_vary_headers(response, ["Cookie", "Authorization"])
    return response
