"""Base viewset for the city's layers: filtered lists rendered as GeoJSON inside PostGIS, details through
the GeoJSON serializer. Also the API's JSON 404 and 403 for URLs that match no route, styled pages elsewhere."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found, permission_denied
from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings

from . import list_cache
from .exceptions import error_body
from .geojson import render_feature_collection
from .pagination import FeaturePagination

GEOJSON = "application/geo+json"


class GeoJSONRenderer(JSONRenderer):
    """Lets clients ask for application/geo+json (RFC 7946) explicitly."""

    media_type = GEOJSON
    format = "geojson"


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: a URL under /api/ that matches no route (`/api/buildings/1.5/`, a path parameter with a
    slash) answers the API's JSON error, as a route's own 404 does; pages keep Django's HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "No such URL in the API; see /api/docs/."), status=404)
    if request.path.startswith("/ogc/"):  # the OGC API's clients read JSON errors too
        return JsonResponse(error_body("NotFound", "No such resource in the OGC API; see /ogc/api."), status=404)
    return page_not_found(request, exception)  # templates/404.html: what happened, and where to go


def forbidden(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: the API's JSON error under /api/, else templates/403.html (why, and: log in or go home)."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("permission_denied", str(exception) or "Not for your role."), status=403)
    return permission_denied(request, exception)


def feature_fields(serializer_class: Any) -> tuple[str, ...]:
    """The properties of a layer's GeoJSON features: its serializer's fields but the id and geometry, so
    that lists (rendered in PostGIS) and details (rendered by the serializer) say the same."""
    meta = serializer_class.Meta
    return tuple(f for f in meta.fields if f not in ("id", meta.geo_field))


class StrictFormatNegotiation(DefaultContentNegotiation):
    """`?format=` given empty is an unknown format (404, as `?format=xml` is), not "no format": the layers
    document `format` as one of json, geojson."""

    def select_renderer(self, request: Request, renderers: list[Any], format_suffix: str | None = None) -> Any:
        if not format_suffix and request.query_params.get(api_settings.URL_FORMAT_OVERRIDE) == "":
            raise NotFound("?format= is empty; leave it out or give one of json, geojson")
        return super().select_renderer(request, renderers, format_suffix)


class GeoFeatureViewSet(viewsets.ReadOnlyModelViewSet):
    """A read-only layer. Subclasses set queryset, serializer_class, filterset_class and geojson_fields."""

    geojson_fields: ClassVar[tuple[str, ...]] = ()
    # True for layers whose rows change only through imports and edits (they bump the data version): their
    # list pages are served from the cache (apps/core/list_cache.py).
    cache_pages: ClassVar[bool] = False
    pagination_class = FeaturePagination
    renderer_classes = [JSONRenderer, GeoJSONRenderer, BrowsableAPIRenderer]
    content_negotiation_class = StrictFormatNegotiation

    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        key = None
        if self.cache_pages and list_cache.enabled():
            url = request.build_absolute_uri()
            key = list_cache.page_key(self.basename or "", self.page_audience(), url, self.geojson_fields)
            kept = list_cache.kept_page(key)
            if kept is not None:
                return HttpResponse(kept, content_type=GEOJSON)
        queryset = self.filter_queryset(self.get_queryset())
        paginator: FeaturePagination = self.paginator  # type: ignore[assignment]
        limit = paginator.get_limit(request) or paginator.default_limit
        offset = paginator.get_offset(request)
        # The links are built before the count is known (one statement does both); SQL drops `next` when no
        # feature follows.
        paginator.limit, paginator.offset, paginator.count, paginator.request = (
            limit,
            offset,
            offset + limit + 1,
            request,
        )
        body = render_feature_collection(
            queryset,
            fields=self.geojson_fields,
            limit=limit,
            offset=offset,
            next_url=paginator.get_next_link(),
            previous_url=paginator.get_previous_link(),
        )
        if key is not None:
            list_cache.keep_page(key, body)
        return HttpResponse(body, content_type=GEOJSON)

    def page_audience(self) -> str:
        """Who sees the same rows of this layer: everyone, unless a layer's queryset depends on the role."""
        return "all"
