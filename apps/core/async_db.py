"""Django's database, reached from async code without Django: the lean tile path and the websockets'
session lookups keep their own psycopg async pools (Django's pool is synchronous), opened with these
parameters so they see the same database, credentials and options (`-c jit=off`)."""

from __future__ import annotations

from typing import Any

from django.db import connections


def connection_kwargs() -> dict[str, Any]:
    """Django's own connection parameters for the default database, in autocommit, without the keys that only
    Django's connection uses (its pool, cursor factory, binding and prepare settings)."""
    params = connections["default"].get_connection_params()
    for key in ("cursor_factory", "context", "pool", "server_side_binding", "prepare_threshold"):
        params.pop(key, None)
    params["autocommit"] = True
    return dict(params)
