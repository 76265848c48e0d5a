"""One version number for all stored city data, kept in the shared cache (Redis).

Whatever writes city features (an import that changed rows, an edit in the admin) calls
city_data_changed(); whatever caches views of them (the tile cache) keys its entries by data_version(), so
a change makes every cached view stale at once and old entries expire on their own. It lives in core so
that writers and caches need not know each other."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "citytwin:tiles:version"  # its historical name: the tile cache was its first reader


def data_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY, 1)
    return int(version)


def city_data_changed() -> None:
    """Call when stored city features change; takes effect when the transaction commits."""

    def bump() -> None:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:  # no version yet: the next read starts one
            cache.add(VERSION_KEY, 2, timeout=None)

    transaction.on_commit(bump)
