"""/ogc/: OGC API - Features and Tiles over the city's collections.

Each view is a DRF view for its authentication (session and token, as the rest of the API) and throttling;
what a role sees is decided by the collections' sources (apps/ogc/collections.py), as in the GeoJSON API.
The views are read-only; they stay out of /api/schema/ (the OGC API has its own definition at /ogc/api)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.accounts.permissions import reads_as_public
from apps.tiles import views as tile_views

from . import documents, features, openapi, tiles
from .collections import Collection, collection, collections_for
from .crs import CRSError
from .crs import parse as parse_crs
from .errors import InvalidParameter, NotFoundError, OGCError
from .negotiation import wanted_format
from .params import check_known, parse_items

GEOJSON = documents.GEOJSON


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/ogc")


def audience(user: Any) -> str:
    return "public" if reads_as_public(user) else "staff"


class OGCView(APIView):
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    http_method_names = ["get", "head", "options"]
    schema = None  # not part of /api/schema/: /ogc/api describes these
    # `crs` is accepted (and has nothing to transform) on the metadata resources: GDAL sends the query of an
    # "OAPIF:URL?crs=..." connection with every request, the collections list included.
    params: tuple[str, ...] = ("f", "crs")

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[Any, str]:
        return (self.renderer_classes[0](), "application/json")  # `f` and Accept are read by the views

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, OGCError):
            return exc.response()
        return super().handle_exception(exc)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.params:
            check_known(request.GET, self.params)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Open data: other sites' map clients may read (a cross-site request carries no cookie with "*").
        response["Access-Control-Allow-Origin"] = "*"
        patch_vary_headers(response, ["Cookie", "Authorization", "Accept"])
        return response

    def answer(self, request: Request, document: dict[str, Any], template: str, **context: Any) -> HttpResponse:
        if wanted_format(request) == "html":
            return render(request, template, {"document": document, "base": base_url(request), **context})
        return JsonResponse(document, json_dumps_params={"separators": (",", ":")})

    def get_collection(self, collection_id: str) -> Collection:
        found = collection(collection_id)
        if found is None:
            raise NotFoundError(f"no collection {collection_id[:80]!r}; see /ogc/collections")
        return found


class LandingView(OGCView):
    def get(self, request: Request) -> HttpResponse:
        return self.answer(request, documents.landing(base_url(request)), "ogc/landing.html")


class ConformanceView(OGCView):
    def get(self, request: Request) -> HttpResponse:
        body = {"conformsTo": documents.CONFORMANCE}
        return self.answer(request, body, "ogc/conformance.html")


class APIDefinitionView(OGCView):
    def get(self, request: Request) -> HttpResponse:
        definition = openapi.definition(base_url(request), collections_for(request.user))
        if wanted_format(request) == "html":
            return render(request, "ogc/api.html", {"document": definition, "base": base_url(request)})
        return HttpResponse(json.dumps(definition), content_type=documents.OPENAPI)


def _collection_document(request: Request, found: Collection) -> dict[str, Any]:
    extent = features.extent(found, request.user, audience=audience(request.user))
    return documents.collection_document(base_url(request), found, extent)


class CollectionsView(OGCView):
    def get(self, request: Request) -> HttpResponse:
        docs = [_collection_document(request, c) for c in collections_for(request.user)]
        return self.answer(request, documents.collections_document(base_url(request), docs), "ogc/collections.html")


class CollectionView(OGCView):
    def get(self, request: Request, collection_id: str) -> HttpResponse:
        found = self.get_collection(collection_id)
        document = _collection_document(request, found)
        return self.answer(request, document, "ogc/collection.html", queryables=list(found.properties))


class QueryablesView(OGCView):
    def get(self, request: Request, collection_id: str) -> HttpResponse:
        found = self.get_collection(collection_id)
        body = documents.queryables(base_url(request), found)
        return HttpResponse(json.dumps(body), content_type=documents.SCHEMA)


class ItemsView(OGCView):
    params = ()  # checked against the collection's queryables in parse_items

    def get(self, request: Request, collection_id: str) -> HttpResponse:
        found = self.get_collection(collection_id)
        query = parse_items(request.GET, found)
        body, matched = features.page(found, request.user, query)
        url = f"{base_url(request)}/collections/{found.id}/items"
        kept = [(k, v) for k, v in request.GET.items() if k not in ("offset", "f")]
        fmt = wanted_format(request)
        links = documents.self_links(url + ("?" + urlencode(kept) if kept else ""), json_type=GEOJSON)
        if query.offset + query.limit < matched:
            after = urlencode([*kept, ("offset", query.offset + query.limit)])
            links.append(
                documents.link(
                    f"{url}?{after}&f={fmt}", "next", GEOJSON if fmt == "json" else documents.HTML, "Next page"
                )
            )
        if query.offset > 0:
            before = urlencode([*kept, ("offset", max(query.offset - query.limit, 0))])
            links.append(
                documents.link(
                    f"{url}?{before}&f={fmt}", "prev", GEOJSON if fmt == "json" else documents.HTML, "Previous page"
                )
            )
        links.append(documents.link(f"{base_url(request)}/collections/{found.id}", "collection", documents.JSON))
        members: dict[str, Any] = {"links": links}
        if not query.crs.is_storage:
            members["crs"] = {"type": "name", "properties": {"name": query.crs.urn()}}  # for GDAL and QGIS
        body = features.with_members(body, **members)
        if fmt == "html":
            page = json.loads(body)
            # The map draws CRS84 only: the city map's style is in longitude/latitude.
            shown = {"type": "FeatureCollection", "features": page["features"]} if query.crs.is_storage else None
            context = {"collection": found, "page": page, "base": base_url(request), "map_features": shown}
            response = render(request, "ogc/items.html", {**context, "properties": list(found.properties)})
        else:
            response = HttpResponse(body, content_type=GEOJSON)
        response["Content-Crs"] = f"<{query.crs.uri}>"
        return response


class ItemView(OGCView):
    params = ("f", "crs")

    def get(self, request: Request, collection_id: str, feature_id: str) -> HttpResponse:
        found = self.get_collection(collection_id)
        try:
            out_crs = parse_crs(request.GET["crs"], name="crs") if "crs" in request.GET else None
        except CRSError as exc:
            raise InvalidParameter(str(exc)) from exc
        if not (feature_id.isascii() and feature_id.isdigit()) or int(feature_id) > 2**63 - 1:
            raise NotFoundError(f"no feature {feature_id[:40]!r} in {found.id}: ids are whole numbers")
        crs = out_crs or parse_crs("CRS84", name="crs")
        body = features.item(found, request.user, int(feature_id), crs)
        if body is None:
            raise NotFoundError(f"no feature {feature_id} in {found.id}")
        url = f"{base_url(request)}/collections/{found.id}/items/{feature_id}"
        body = features.with_members(
            body,
            links=[
                *documents.self_links(url, json_type=GEOJSON),
                documents.link(f"{base_url(request)}/collections/{found.id}", "collection", documents.JSON),
            ],
        )
        if wanted_format(request) == "html":
            response = render(
                request, "ogc/item.html", {"collection": found, "feature": json.loads(body), "base": base_url(request)}
            )
        else:
            response = HttpResponse(body, content_type=GEOJSON)
        response["Content-Crs"] = f"<{crs.uri}>"
        return response


class TileMatrixSetsView(OGCView):
    def get(self, request: Request) -> HttpResponse:
        return JsonResponse(tiles.tile_matrix_sets(base_url(request)))


class TileMatrixSetView(OGCView):
    def get(self, request: Request, tms: str) -> HttpResponse:
        if tms != tiles.TMS_ID:
            raise NotFoundError(f"no tile matrix set {tms[:40]!r}; offered: {tiles.TMS_ID}")
        return JsonResponse(tiles.tile_matrix_set())


class _TilesView(OGCView):
    def tiled(self, collection_id: str, tms: str | None = None) -> Collection:
        found = self.get_collection(collection_id)
        if found.tile_layer is None:
            raise NotFoundError(
                f"collection {found.id} has no tiles; tiled: buildings, road-segments, utility-assets, districts"
            )
        if tms is not None and tms != tiles.TMS_ID:
            raise NotFoundError(f"no tile matrix set {tms[:40]!r}; offered: {tiles.TMS_ID}")
        return found


class TilesetsView(_TilesView):
    def get(self, request: Request, collection_id: str) -> HttpResponse:
        return JsonResponse(tiles.tilesets(base_url(request), self.tiled(collection_id)))


class TilesetView(_TilesView):
    def get(self, request: Request, collection_id: str, tms: str) -> HttpResponse:
        found = self.tiled(collection_id, tms)
        extent = features.extent(found, request.user, audience=audience(request.user))
        return JsonResponse(tiles.tileset(base_url(request), found, extent))


class TileJSONView(_TilesView):
    def get(self, request: Request, collection_id: str, tms: str) -> HttpResponse:
        found = self.tiled(collection_id, tms)
        extent = features.extent(found, request.user, audience=audience(request.user))
        site = request.build_absolute_uri("/").rstrip("/")
        return JsonResponse(tiles.tilejson(site, base_url(request), found, extent))


@csrf_exempt  # read-only (require_safe): a POST or an unknown method is a 405, not a CSRF 403
@require_safe
def tile(request: HttpRequest, collection_id: str, tms: str, z: int, row: int, col: int) -> HttpResponse:
    """A tile at its OGC address: the same response as /tiles/<layer>/z/x/y.pbf."""
    found = collection(collection_id)
    if found is None or found.tile_layer is None or tms != tiles.TMS_ID:
        return NotFoundError(f"no tiles for {collection_id[:80]!r} in {tms[:40]!r}").response()
    return tile_views.tile(request, found.tile_layer, z, col, row)
