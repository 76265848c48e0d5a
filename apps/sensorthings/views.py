"""The SensorThings API 1.1 (read-only) under /sta/v1.1/: the root document and every resource path
(Things, Things(12), Things(12)/Datastreams, Datastreams('12:pm2_5')/Observations, Things(12)/name/$value,
.../$ref). DRF for session and token auth, throttling and the error shape; every role may read (the
relations hide what the role may not see, as 404), no role may write (405)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DataError, OperationalError, transaction
from django.http import HttpResponse
from django.urls import reverse
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import query, render
from .entities import BY_PLURAL, TYPES, Ctx, EntityType
from .errors import StaQueryError
from .options import Options, parse_options

SEGMENT = re.compile(r"^([A-Za-z]+)(?:\((\d{1,18}|'(?:[^']|'')*')\))?$")
STATEMENT_TIMEOUT_MS = 20_000
CONFORMANCE = [
    "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
]


def root_document(base: str) -> dict[str, Any]:
    return {
        "value": [{"name": t.plural, "url": base + t.plural} for t in TYPES.values()],
        "serverSettings": {"conformance": CONFORMANCE},
    }


@contextmanager
def guarded() -> Iterator[None]:
    """A statement time limit for every read, and database refusals of a client's values as 400s."""
    try:
        with transaction.atomic():
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
            yield
    except OperationalError as exc:
        if "statement timeout" not in str(exc):
            raise
        raise StaQueryError(
            "the query took too long: narrow it (filter Observations by Datastream and a phenomenonTime range, "
            "or ask for a smaller $top)"
        ) from exc
    except DataError as exc:
        raise StaQueryError(f"a value in the query is out of range: {str(exc).splitlines()[0]}") from exc


class SensorThingsView(APIView):
    permission_classes = [AllowAny]  # every role reads; the relations hide what a role may not see
    renderer_classes = [JSONRenderer]
    schema = None  # the root document describes this API; it is not part of the OpenAPI schema

    def get(self, request: Request, resource: str = "") -> Any:
        base = request.build_absolute_uri(reverse("sensorthings:root"))
        if not resource.strip("/"):
            return Response(root_document(base))
        with guarded():
            return Resolver(request, base).resolve(resource.strip("/").split("/"))


class Resolver:
    def __init__(self, request: Request, base: str) -> None:
        self.request = request
        self.base = base
        self.ctx = Ctx.for_user(request.user)

    def resolve(self, segments: list[str]) -> Any:
        found = SEGMENT.match(segments[0])
        if found is None or found[1] not in BY_PLURAL:
            raise NotFound(f"no entity set {segments[0]!r}; the sets are {', '.join(BY_PLURAL)}")
        etype = BY_PLURAL[found[1]]
        fixed = _fixed({}, etype.key(_key(found[2]))) if found[2] else {}
        single = found[2] is not None
        for i, segment in enumerate(segments[1:], start=1):
            rest = segments[i + 1 :]
            if segment == "$ref" and not rest:
                return self.listing(etype, fixed, single, refs=True)
            match = SEGMENT.match(segment)
            if not single:
                raise StaQueryError(f"{'/'.join(segments[:i])} is a collection: address one entity by its id first")
            if match and match[1] in etype.navs:
                etype, fixed, single = self.navigate(etype, fixed, match[1], match[2])
                continue
            if segment in etype.props and (not rest or rest == ["$value"]):
                return self.property(etype, fixed, segment, raw=bool(rest))
            raise NotFound(f"{etype.name} has no property or navigation property {segment!r}")
        return self.listing(etype, fixed, single, refs=False)

    def navigate(
        self, etype: EntityType, fixed: dict[str, Any] | None, name: str, key: str | None
    ) -> tuple[EntityType, dict[str, Any] | None, bool]:
        parent = query.one(etype, self.ctx, fixed)
        if parent is None:
            raise NotFound(f"no such {etype.name}")
        nav = etype.navs[name]
        target = TYPES[nav.target]
        found: dict[str, Any] | None = {theirs: parent[mine] for mine, theirs in nav.pairs}
        if key is not None:
            if not nav.many:
                raise StaQueryError(f"{etype.name}/{name} is a single entity: it takes no id")
            found = _fixed(found or {}, target.key(_key(key)))
        return target, found, key is not None or not nav.many

    def property(self, etype: EntityType, fixed: dict[str, Any] | None, name: str, *, raw: bool) -> Any:
        row = query.one(etype, self.ctx, fixed, Options(select=[name]))
        if row is None:
            raise NotFound(f"no such {etype.name}")
        value = render.entity(etype, row, self.base, Options(select=[name]))[name]
        if raw:
            return HttpResponse("" if value is None else str(value), content_type="text/plain; charset=utf-8")
        return Response({name: value})

    def listing(self, etype: EntityType, fixed: dict[str, Any] | None, single: bool, *, refs: bool) -> Response:
        options = parse_options(self.request.query_params.dict(), etype)
        if single:
            row = query.one(etype, self.ctx, fixed, options)
            if row is None:
                raise NotFound(f"no such {etype.name}")
            if refs:
                return Response({"@iot.selfLink": self.base + render.entity_path(etype, row["id"])})
            return Response(render.entity(etype, row, self.base, options))
        if refs:
            options.expand, options.select = {}, ["@iot.id"]
        found = query.page(etype, self.ctx, options, fixed)
        next_link = self.next_link(options) if found.more else None
        if refs:
            links = [{"@iot.selfLink": self.base + render.entity_path(etype, row["id"])} for row in found.rows]
            body: dict[str, Any] = {"@iot.count": found.count} if found.count is not None else {}
            return Response({**body, **({"@iot.nextLink": next_link} if next_link else {}), "value": links})
        return Response(
            render.collection(etype, found.rows, self.base, options, count=found.count, next_link=next_link)
        )

    def next_link(self, options: Options) -> str:
        params = self.request.query_params.copy()
        params["$top"] = str(options.top)
        params["$skip"] = str(options.skip + options.top)
        return self.request.build_absolute_uri(self.request.path) + "?" + params.urlencode(safe="$/(),'")


def _fixed(fixed: dict[str, Any], key: dict[str, Any]) -> dict[str, Any] | None:
    """Column values an id adds to those a navigation fixed; None when the id cannot exist or contradicts them."""
    if not key or any(column in fixed and fixed[column] != value for column, value in key.items()):
        return None
    return {**fixed, **key}


def _key(text: str) -> str:
    return text[1:-1].replace("''", "'") if text.startswith("'") else text
