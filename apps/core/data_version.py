"""One version number for all stored city data, kept in the shared cache (Redis).

Whatever writes city features (an import that changed rows, an edit in the admin) calls
city_data_changed(); whatever caches views of them (the tile cache) keys its entries by data_version(), so
a change makes every cached view stale at once and old entries expire on their own. It lives in core so
that writers and caches need not know each other."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

VERSION_KEY = "citytwin:tiles:version"  # its historical name: the tile cache was its first reader


def data_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY, 1)
    return int(version)


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version yet: the next read starts one
        cache.add(VERSION_KEY, 2, timeout=None)


def city_data_changed() -> None:
    """Call when stored city features change. The version moves now and again when the transaction commits:
    a reader that cached the old rows under the first new version (they were not committed yet) is made
    stale by the second; the first makes the change visible inside the writing transaction too."""
    _bump()
    transaction.on_commit(_bump)


def _changed(sender: type[models.Model], **kwargs: Any) -> None:
    city_data_changed()


def track_changes(*city_models: type[models.Model]) -> None:
    """Bump the version on every ORM save and delete of these models (the admin, the shell, tests). Loaders
    write with set-based SQL and call city_data_changed() themselves."""
    for model in city_models:
        post_save.connect(_changed, sender=model, dispatch_uid=f"data_version:save:{model._meta.label}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"data_version:delete:{model._meta.label}")
