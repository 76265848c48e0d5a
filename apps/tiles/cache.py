"""The tile cache: Redis (through Django's cache, shared by every process), keyed by the city's data version,
plus, for the lean path, an in-process copy of the hot tiles in front of it.

A tile is cached under the current data version (apps/core/data_version.py); any change to the city (an
import that wrote rows, an edit in the admin) bumps the version, so stale tiles are never served and
expire on their own. The lean path (apps/tiles/lean.py) reads the same keys with an asyncio Redis client,
keeps the tiles it served in a byte-bounded LRU keyed by the same version, and trusts the version it last
read for CITYTWIN_TILE_VERSION_TTL_MS (so a change reaches every process within that time)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisSerializer
from redis import asyncio as aioredis

from apps.core.data_version import VERSION_KEY, data_version

__all__ = ["HotTiles", "Tile", "data_version", "enabled", "etag_of", "get_tile", "put_tile", "tile_key"]

TILE_TTL_S = 24 * 3600


def enabled() -> bool:
    return bool(getattr(settings, "CITYTWIN_TILE_CACHE", True))


def tile_key(version: int, layer: str, audience: str, z: int, x: int, y: int) -> str:
    return f"citytwin:tile:{version}:{layer}:{audience}:{z}:{x}:{y}"


def etag_of(data: bytes) -> str:
    return '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'


def get_tile(key: str) -> bytes | None:
    return cache.get(key) if enabled() else None


def put_tile(key: str, data: bytes) -> None:
    if enabled():
        cache.set(key, data, timeout=TILE_TTL_S)


@dataclass(frozen=True, slots=True)
class Tile:
    """A tile ready to send: its bytes with their ETag and length computed once."""

    data: bytes
    etag: bytes
    length: bytes

    @classmethod
    def of(cls, data: bytes) -> Tile:
        return cls(data, etag_of(data).encode(), str(len(data)).encode())


class HotTiles:
    """The lean path's view of the tile cache: the data version, an LRU of hot tiles (at most
    CITYTWIN_TILE_HOT_MB), and Redis behind it, with the same keys and encoding as Django's cache."""

    def __init__(self) -> None:
        self._lru: OrderedDict[str, Tile] = OrderedDict()
        self._bytes = 0
        self._version = 0
        self._version_read_at = -1e18
        self._redis: aioredis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._serializer = RedisSerializer()

    def _client(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        if self._redis is None or self._loop is not loop:  # a client belongs to one event loop
            location = settings.CACHES["default"]["LOCATION"]
            self._redis = aioredis.Redis.from_url(location if isinstance(location, str) else location[0])
            self._loop = loop
        return self._redis

    @staticmethod
    def _full_key(key: str) -> str:
        return cache.make_and_validate_key(key)

    async def version(self) -> int:
        now = time.monotonic()
        ttl = int(getattr(settings, "CITYTWIN_TILE_VERSION_TTL_MS", 1000)) / 1000
        if now - self._version_read_at < ttl:
            return self._version
        raw = await self._client().get(self._full_key(VERSION_KEY))
        if raw is None:  # no version yet: start one as data_version() does (rare: a fresh or flushed Redis)
            version = await asyncio.to_thread(data_version)
        else:
            version = int(raw)
        if version < self._version:
            # Redis lost the version (flushed, restarted empty) and counts from 1 again: what this process
            # cached under those numbers before may be stale, so forget it.
            self._lru.clear()
            self._bytes = 0
        self._version, self._version_read_at = version, now
        return version

    async def get(self, key: str) -> Tile | None:
        tile = self._lru.get(key)
        if tile is not None:
            self._lru.move_to_end(key)
            return tile
        raw = await self._client().get(self._full_key(key))
        if raw is None:
            return None
        tile = Tile.of(bytes(self._serializer.loads(raw if isinstance(raw, bytes) else raw.encode())))
        self._remember(key, tile)
        return tile

    async def put(self, key: str, data: bytes) -> Tile:
        tile = Tile.of(data)
        await self._client().set(self._full_key(key), self._serializer.dumps(data), ex=TILE_TTL_S)
        self._remember(key, tile)
        return tile

    def _remember(self, key: str, tile: Tile) -> None:
        limit = int(getattr(settings, "CITYTWIN_TILE_HOT_MB", 64)) * 1024 * 1024
        size = len(tile.data) + len(key) + 200
        if size > limit:
            return
        old = self._lru.pop(key, None)
        if old is not None:
            self._bytes -= len(old.data) + len(key) + 200
        self._lru[key] = tile
        self._bytes += size
        while self._bytes > limit:
            k, t = self._lru.popitem(last=False)
            self._bytes -= len(t.data) + len(k) + 200

    def clear(self) -> None:
        self._lru.clear()
        self._bytes = 0
        self._version_read_at = -1e18
