"""The role matrix's machinery (tests/test_roles.py runs it; tests/roles_expected.py is the expected table):
walk the URL resolver for every pattern, make each one a concrete URL, send it each method as each role
through Django's test client, and name the outcome."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

ROLES = ("anonymous", "planner", "operator", "gis_staff", "admin", "ingest", "device")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ADMIN_METHODS = ("GET", "POST")  # the admin's views treat every other method as GET
GROUP = re.compile(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)")
CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
TILE = "14/9326/4739"  # central Helsinki


@dataclass(frozen=True)
class Route:
    key: str  # the pattern, normalised: api/buildings/<pk>/ (a format-suffix variant: api/buildings/<pk>.<format>)
    name: str

    @property
    def row(self) -> str:
        """The expected table's row: a format-suffix variant shares its base route's row."""
        if self.key == "api/<format>":
            return "api/"
        if self.key.endswith(".<format>"):
            return self.key[: -len(".<format>")] + "/"
        return self.key


def normalise(route: str) -> str:
    route = route.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "")
    return CONVERTER.sub(r"<\1>", GROUP.sub(lambda m: f"<{m.group(1)}>", route))


def routes(patterns: list[Any] | None = None, prefix: str = "", ns: str = "") -> Iterator[Route]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from routes(entry.url_patterns, route, f"{ns}{entry.namespace}:" if entry.namespace else ns)
        elif isinstance(entry, URLPattern):
            yield Route(normalise(route), ns + (entry.name or ""))


def row_for(key: str, table: dict[str, Any]) -> str | None:
    """The table's row for a route: its own, else the first wildcard row (fnmatch) that matches it."""
    if key in table:
        return key
    return next((row for row in table if "*" in row and fnmatch.fnmatchcase(key, row)), None)


def outcome(response: Any) -> str:
    """ok: the role got through (2xx/304, or its input was refused: 400/409/413/415/422); login / admin-login: a
    redirect to a sign-in page; redirect: any other; else the status itself (401, 403, 404, 405, 5xx)."""
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        location = response.get("Location", "")
        if location.startswith("/accounts/login/"):
            return "login"
        if location.startswith("/admin/login/"):
            return "admin-login"
        return "redirect"
    if status < 300 or status in (304, 400, 409, 413, 415, 422):
        return "ok"
    return str(status)


def expected(spec: Any, role: str) -> str:
    """A cell of the table: an outcome for every role, or a dict role -> outcome with "*" for the rest."""
    if isinstance(spec, str):
        return spec
    return str(spec.get(role, spec.get("*")))


def cell(row: dict[str, Any], method: str, role: str) -> str:
    spec = row.get(method, row.get("*"))
    assert spec is not None, f"no outcome for {method} (and no '*')"
    return expected(spec, role)
