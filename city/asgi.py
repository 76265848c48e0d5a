"""The ASGI entry point (uvicorn serves it): HTTP goes to Django behind the request body limit (reads through
Django's WSGI handler in a2wsgi's threads, see READS_THROUGH_WSGI below), except the vector tiles, which the
lean tile path (apps/tiles/lean.py) answers in front of everything when it can, and the Dash boards under
/dash/<board>/, served by their Flask servers through a2wsgi behind the same limit (the Django session
decides access there too: dashboards/server.py); websockets to the one Channels consumer at /ws/, behind the
same-origin check and the session (see apps/streaming)."""

from __future__ import annotations

import gc
import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city.settings.dev")

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402

from apps.accounts.identity import role_of_scope  # noqa: E402  (needs the apps loaded)
from apps.accounts.models import DATA_EDITOR_ROLES  # noqa: E402
from apps.core.request_limits import RequestBodyLimit  # noqa: E402
from apps.streaming.routing import websocket_application  # noqa: E402
from apps.tiles.lean import LeanTiles  # noqa: E402
from dashboards.server import build_gate  # noqa: E402

# Room for the multipart envelope and the form's other fields around the uploaded file.
MULTIPART_SLACK = 1024 * 1024
UPLOAD_PATHS = frozenset({"/imports/upload/"})


async def upload_limit(scope: dict[str, Any]) -> int | None:
    """The upload page takes files up to CITYTWIN_MAX_UPLOAD_MB, from the roles that may load data only."""
    if scope.get("method") != "POST" or scope.get("path") not in UPLOAD_PATHS:
        return None
    if await role_of_scope(scope) not in DATA_EDITOR_ROLES:
        return None
    return int(settings.CITYTWIN_MAX_UPLOAD_MB) * 1024 * 1024 + MULTIPART_SLACK


dash_gate = build_gate()
# Dash and Django's ORM are synchronous: the boards run in a2wsgi's own threads, each request on its own.
dash_application = WSGIMiddleware(dash_gate, workers=8)  # type: ignore[arg-type]
DASH_PREFIXES = tuple(board.prefix for board in dash_gate.boards)


# Every view is synchronous. Django's ASGI handler runs each one through sync_to_async on ONE shared thread,
# with two more thread hops for the request signals: 8 ms for /healthz/ against 1-2 ms through its WSGI
# handler in a2wsgi's pool, where requests also run side by side (bench/README.md, "GeoJSON lists"). Reads
# (GET, HEAD, OPTIONS without a body) go that way. Requests with a body stay on the ASGI handler: it reads the
# whole body before the view runs, so the body limit above can always answer 413 (a WSGI view may answer,
# or parse a cut body, before the limit is reached).
# CITYTWIN_DJANGO_HTTP=asgi serves everything through Django's ASGI handler (to compare or debug).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
django_wsgi_app = WSGIMiddleware(get_wsgi_application(), workers=settings.CITYTWIN_DJANGO_THREADS)  # type: ignore[arg-type]
READS_THROUGH_WSGI = settings.CITYTWIN_DJANGO_HTTP == "wsgi"


def without_body(scope: dict[str, Any]) -> bool:
    if scope["method"] not in READ_METHODS:
        return False
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return False
    return True


async def http_router(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["path"].startswith(DASH_PREFIXES):
        await dash_application(scope, receive, send)  # type: ignore[arg-type]
    elif READS_THROUGH_WSGI and without_body(scope):
        await django_wsgi_app(scope, receive, send)  # type: ignore[arg-type]
    else:
        await django_asgi_app(scope, receive, send)


http_application = RequestBodyLimit(
    http_router, default_limit=int(settings.CITYTWIN_MAX_BODY_KB) * 1024, larger_limit=upload_limit
)
# The lean tile path never reads a request body, so it may sit in front of the limit; what it hands on goes
# through the limit to Django.
# CITYTWIN_TILE_LEAN=false serves tiles through Django only (to compare or debug).
front = LeanTiles(http_application) if settings.CITYTWIN_TILE_LEAN else http_application
application = ProtocolTypeRouter({"http": front, "websocket": websocket_application()})

# Everything built so far (Django, the apps, the Dash boards: ~220,000 objects) lives as long as the process.
# Left to the collector, every full collection walks all of it again: 200 ms to 1 s each, several while
# 2,000 websockets open (bench/bench_fanout.py; the hub's report logs them), a pause every client feels.
# Frozen, a full collection walks only what was made since.
gc.freeze()
# Young collections every 10,000 new objects instead of 700: a full pass waits for ten passes of the middle
# generation, so the thousands of long-lived objects of sockets opening at once set off fewer full passes over
# all the open sockets (each 0.2-0.5 s at 5,000 sockets; bench/bench_fanout.py).
gc.set_threshold(10_000, 10, 10)
