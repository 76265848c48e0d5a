"""Content-Security-Policy on every response. Everything the pages load is served by us (vendored
MapLibre, Swagger UI); MapLibre needs blob: workers and WebGL data/blob images."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

DEFAULT_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # MapLibre and the admin set inline styles on elements
        "img-src 'self' data: blob:",
        "worker-src 'self' blob:",
        "child-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Sets the policy on responses that have none. A MiddlewareMixin, so that it runs in the event loop under
    ASGI: a sync-only middleware costs every request two thread hops (bench/README.md)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        self.policy = getattr(settings, "CITYTWIN_CSP", DEFAULT_POLICY)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
