"""Whole GeoJSON list pages in the shared cache (Redis), keyed by the city's data version.

A layer whose rows change only through imports and edits (which bump the data version: apps/core/
data_version.py) answers a repeated page from the cache: same URL (the links in the page are absolute, so
scheme and host are part of the key), same audience, same version. Any change to the city makes every cached
page stale at once; stale pages expire on their own. Pages larger than CITYTWIN_LIST_CACHE_MAX_KB are not
kept (they cost more to keep than the SQL saves, and would crowd out the tiles).

Only pages that were rendered are kept, so a URL whose parameters are refused is never found here: the
view looks a page up before it validates the filters, and a hit skips that work too."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache

from .data_version import data_version

LIST_TTL_S = 3600


def enabled() -> bool:
    return bool(getattr(settings, "CITYTWIN_LIST_CACHE", True))


def page_key(layer: str, audience: str, url: str, fields: tuple[str, ...]) -> str:
    """The key of a page: the data version, the layer, who sees it, its URL and the properties it carries (a
    release that changes them must not serve pages of the one before)."""
    digest = hashlib.blake2b(f"{url}\n{','.join(fields)}".encode(), digest_size=16).hexdigest()
    return f"citytwin:list:{data_version()}:{layer}:{audience}:{digest}"


def kept_page(key: str) -> str | None:
    return cache.get(key) if enabled() else None


def keep_page(key: str, body: str) -> None:
    if enabled() and len(body) <= int(settings.CITYTWIN_LIST_CACHE_MAX_KB) * 1024:
        cache.set(key, body, timeout=LIST_TTL_S)
