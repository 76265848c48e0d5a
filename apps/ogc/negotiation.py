"""Which representation a request wants: `f=` wins, else the Accept header (a browser gets HTML)."""

from __future__ import annotations

from django.http import HttpRequest

from .errors import InvalidParameter

FORMATS = ("json", "html")
ALIASES = {"json": "json", "geojson": "json", "application/json": "json", "application/geo+json": "json", "html": "html", "text/html": "html"}  # fmt: skip


def wanted_format(request: HttpRequest) -> str:
    raw = request.GET.get("f")
    if raw is not None:
        found = ALIASES.get(raw.strip().lower())
        if found is None:
            raise InvalidParameter(f"f={raw[:40]!r} is not offered; use f=json or f=html")
        return found
    accept = request.headers.get("Accept", "")
    best_json = _quality(accept, ("application/json", "application/geo+json", "application/*"))
    best_html = _quality(accept, ("text/html",))
    return "html" if best_html > best_json else "json"


def _quality(accept: str, types: tuple[str, ...]) -> float:
    best = 0.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        if media.strip().lower() not in types:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best = max(best, q)
    return best
