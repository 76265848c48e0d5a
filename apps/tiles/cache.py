"""A shared tile cache (Redis, through Django's cache) with one version number for all city data.

A tile is cached under the current data version; any change to the city (an import that wrote rows, an
edit in the admin) bumps the version, so stale tiles are never served and expire on their own."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "citytwin:tiles:version"
TILE_TTL_S = 24 * 3600


def data_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY, 1)
    return int(version)


def tile_key(version: int, layer: str, audience: str, z: int, x: int, y: int) -> str:
    return f"citytwin:tile:{version}:{layer}:{audience}:{z}:{x}:{y}"


def get_tile(key: str) -> bytes | None:
    return cache.get(key)


def put_tile(key: str, data: bytes) -> None:
    cache.set(key, data, timeout=TILE_TTL_S)


def city_data_changed() -> None:
    """Call when stored city features change; takes effect when the transaction commits."""

    def bump() -> None:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:  # no version yet: the next read starts one
            cache.add(VERSION_KEY, 2, timeout=None)

    transaction.on_commit(bump)
