"""The WSGI application behind /dash/: the boards, and the gate in front of them.

Dash serves each board from a Flask server of its own; the gate runs in a2wsgi's worker threads. Per
request it resolves the Django user from the session cookie (Django's session engine and auth, as
django.contrib.auth would), so the Django session decides access and every thread reads its own request
only (the user travels in the WSGI environ, nothing global). A person not allowed gets the site's styled
403 page rendered by Django, an anonymous visitor on a staff board the login page. Dash's callbacks POST
JSON with the X-CSRFToken header read from Django's csrftoken cookie, checked by Django's own CSRF
middleware here. Every answer carries the boards' CSP: the site's policy with `script-src 'self'` plus
the hashes of the scripts Dash inlines (Dash.csp_hashes), nothing weaker."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

import dash
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.views import redirect_to_login
from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.shortcuts import render
from django.utils.module_loading import import_string

from apps.accounts.permissions import role_of
from apps.core.middleware import DEFAULT_POLICY

PREFIX = "/dash/"
USER_KEY = "citytwin.user"  # where the gate leaves the request's Django user for the board's callbacks
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Board:
    slug: str
    title: str
    roles: frozenset[str] | None  # None: everyone, anonymous included
    app: dash.Dash

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.slug}/"

    @property
    def role_names(self) -> list[str]:
        """Who may open it, in words (for the 403 page)."""
        from apps.accounts.models import Role

        return [Role(r).label.lower() + "s" for r in sorted(self.roles or ())]

    def allows(self, user: Any) -> bool:
        return self.roles is None or role_of(user) in self.roles


def new_dash(slug: str, title: str) -> dash.Dash:
    """A Dash app under /dash/<slug>/ that needs no CDN: its scripts are served locally, its styles are
    the site's own, and its callbacks send Django's CSRF token."""
    prefix = f"{PREFIX}{slug}/"
    return dash.Dash(
        f"citytwin-{slug}",
        title=f"{title} · CityTwin",
        requests_pathname_prefix=prefix,
        routes_pathname_prefix=prefix,
        serve_locally=True,
        assets_folder=str(settings.BASE_DIR / "dashboards" / "assets"),
        external_stylesheets=["/static/css/site.css"],
        csrf_token_name=settings.CSRF_COOKIE_NAME,
        csrf_header_name="X-CSRFToken",
        suppress_callback_exceptions=True,
        # Dash turns its endpoints async whenever asgiref is importable (Django brings it): callbacks then
        # run inside an event loop, where Django refuses the ORM (SynchronousOnlyOperation) and, with that
        # check off in tests, each loop thread kept a pooled connection until the pool ran dry. Our
        # callbacks are synchronous, in a2wsgi's threads.
        use_async=False,
        update_title=None,  # type: ignore[arg-type]  # no "Updating..." title flicker (and no script for it)
    )


def board_policy(app: dash.Dash) -> str:
    """The site's policy with the board's inline script hashes added to script-src, and nothing else."""
    hashes = " ".join(app.csp_hashes())
    policy = DEFAULT_POLICY.replace("script-src 'self'", f"script-src 'self' {hashes}")
    assert policy != DEFAULT_POLICY, "the site's policy no longer has script-src 'self'"
    return policy


def _csrf_protected(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called, only checked
    return HttpResponse()


class Gate:
    """The WSGI application of /dash/: access by the Django session, CSRF on POST, the boards' CSP."""

    def __init__(self, boards: list[Board]) -> None:
        self.boards = boards
        self.policies = {b.slug: board_policy(b.app) for b in boards}
        self.csrf = CsrfViewMiddleware(_csrf_protected)

    def board_of(self, path: str) -> Board | None:
        return next((b for b in self.boards if path.startswith(b.prefix)), None)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        close_old_connections()  # as Django does around each request (this thread may hold a stale one)
        try:
            return self._serve(environ, start_response)
        finally:
            close_old_connections()

    def _serve(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = WSGIRequest(environ)
        board = self.board_of(request.path)
        if board is None:  # city/asgi.py sends only the boards' paths here
            return self._django(HttpResponse("Not found", status=404, content_type="text/plain"), start_response)
        engine = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
        request.session = engine(session_key=request.COOKIES.get(settings.SESSION_COOKIE_NAME))
        request.user = get_user(request)  # type: ignore[assignment]
        if not board.allows(request.user):
            if not request.user.is_authenticated:
                return self._django(redirect_to_login(request.get_full_path()), start_response)
            page = render(request, "dashboards/forbidden.html", {"board": board}, status=403)
            return self._django(page, start_response, request)
        if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
            self.csrf.process_request(request)
            refused = self.csrf.process_view(request, _csrf_protected, (), {})
            if refused is not None:
                return self._django(refused, start_response)
        else:
            get_token(request)  # the callbacks send it back: make sure the browser has the cookie
        environ[USER_KEY] = request.user
        extra = [("Content-Security-Policy", self.policies[board.slug]), *self._cookies(request)]

        def with_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, *extra], exc_info)

        return board.app.server.wsgi_app(environ, with_headers)  # type: ignore[no-any-return]

    def _cookies(self, request: HttpRequest) -> list[tuple[str, str]]:
        carrier = self.csrf.process_response(request, HttpResponse())
        return [("Set-Cookie", c.output(header="").strip()) for c in carrier.cookies.values()]

    def _django(
        self, response: HttpResponse, start_response: StartResponse, request: HttpRequest | None = None
    ) -> Iterable[bytes]:
        """Answer with a Django response (the 403 page, the login redirect, a CSRF refusal) under the
        site's own policy, as Django's middleware would have sent it."""
        if request is not None:
            response = cast(HttpResponse, self.csrf.process_response(request, response))
        response.headers.setdefault("Content-Security-Policy", getattr(settings, "CITYTWIN_CSP", DEFAULT_POLICY))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        headers = [*response.items(), *(("Set-Cookie", c.output(header="").strip()) for c in response.cookies.values())]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return [response.content]


def build_gate() -> Gate:
    """The boards and their gate (after Django is set up: the boards' data modules use the domain)."""
    from .compare.app import build as build_compare
    from .districts.app import build as build_districts
    from .public.app import build as build_public

    return Gate([build_compare(), build_districts(), build_public()])


def request_user() -> Any:
    """The Django user of the callback's request (left in the environ by the gate)."""
    import flask

    return flask.request.environ.get(USER_KEY)
