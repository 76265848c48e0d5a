"""Websocket routing and the origin check: a browser may only open /ws/ from a page of this site."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.urls import path

from .consumers import CityConsumer

websocket_urlpatterns = [path("ws/", CityConsumer.as_asgi())]


class SameOriginValidator:
    """Accepts a socket whose Origin is this site (same host and port as the request's Host header) or is
    listed in CITYTWIN_WS_ALLOWED_ORIGINS; refuses the rest, and sockets without an Origin."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin1")
        host = headers.get(b"host", b"").decode("latin1")
        allowed = set(getattr(settings, "CITYTWIN_WS_ALLOWED_ORIGINS", []))
        parsed = urlparse(origin)
        if origin and (parsed.netloc == host or origin in allowed):
            return await self.application(scope, receive, send)
        denier = WebsocketDenier()
        return await denier(scope, receive, send)


def websocket_application() -> Any:
    return SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
