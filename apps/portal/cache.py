"""The public endpoints' cache: one shared entry per key (Redis, through Django's cache) and public HTTP
caching (Cache-Control, ETag), so a busy front page costs the database one query per entry and interval."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


def cached_text(key: str, ttl_s: int, build: Callable[[], str]) -> str:
    """The cached text under `key`, built (and stored for `ttl_s`) when missing."""
    text = cache.get(key)
    if text is None:
        text = build()
        cache.set(key, text, timeout=ttl_s)
    return str(text)


def public_response(request: HttpRequest, body: str, *, content_type: str, max_age_s: int) -> HttpResponse:
    """A public, cacheable answer: the same for everyone, so browsers and shared caches may keep it, and
    other sites may read it (open data)."""
    data = body.encode()
    etag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(data, content_type=content_type)
    response["ETag"] = etag
    response["Access-Control-Allow-Origin"] = "*"
    patch_cache_control(response, public=True, max_age=max_age_s)
    return response
