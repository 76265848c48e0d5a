"""A shared tile cache (Redis, through Django's cache), keyed by the city's data version.

A tile is cached under the current data version (apps/core/data_version.py); any change to the city (an
import that wrote rows, an edit in the admin) bumps the version, so stale tiles are never served and
expire on their own."""

from __future__ import annotations

from django.core.cache import cache

from apps.core.data_version import data_version

__all__ = ["data_version", "get_tile", "put_tile", "tile_key"]

TILE_TTL_S = 24 * 3600


def tile_key(version: int, layer: str, audience: str, z: int, x: int, y: int) -> str:
    return f"citytwin:tile:{version}:{layer}:{audience}:{z}:{x}:{y}"


def get_tile(key: str) -> bytes | None:
    return cache.get(key)


def put_tile(key: str, data: bytes) -> None:
    cache.set(key, data, timeout=TILE_TTL_S)
