"""What the OpenAPI document (/api/schema/, drf-spectacular) says beyond what it infers from the views.

A postprocessing hook (SPECTACULAR_SETTINGS) adds, to every operation:

- the error answers it can give, all with one body (component `Error`, the shape of
  apps.core.exceptions.api_exception_handler): 401/403 (every operation), 406 (content negotiation),
  413 (the request size limit, answered before the body is read), 429 (throttling, with Retry-After),
  400 where there is input to validate (query parameters or a body), 404 where a path parameter or a
  `?format=` can miss, 415 where there is a body;
- the optional "no authentication" requirement (`{}`) where the view's permissions let anonymous clients in,
  so that clients (and schemathesis's ignored_auth check) know a public read needs no credentials;
- to free-text inputs (query parameters, request bodies' strings), the pattern that excludes NUL: Django
  and PostgreSQL refuse the character, so such a value is a 400, and the schema says so.

docs/api.md says the same for people."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.contrib.auth.models import AnonymousUser

ERROR_COMPONENT = "Error"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error the API answers. See docs/api.md for the codes.",
    "required": ["code", "detail"],
    "properties": {
        "code": {
            "type": "string",
            "description": "Stable and machine-readable, e.g. invalid, not_authenticated, permission_denied, "
            "not_found, method_not_allowed, not_acceptable, unsupported_media_type, parse_error, throttled, "
            "request_too_large, invalid_bbox.",
        },
        "detail": {"type": "string", "description": "For people: what was wrong and how to fix it."},
        "errors": {
            "description": 'Field-level messages when there are any, e.g. {"bbox": ["..."]}.',
            "oneOf": [{"type": "object", "additionalProperties": {}}, {"type": "array", "items": {}}],
        },
    },
}
# Why each status can happen; the descriptions end up in the API docs.
ERROR_STATUSES = {
    "400": "Invalid input: a query parameter or the body (`code` invalid, invalid_bbox, parse_error...); "
    "`errors` names the fields.",
    "401": "The credentials given are not valid.",
    "403": "Not signed in, or the role may not do this.",
    "404": "No such object (or not visible to this role), or an unknown ?format=.",
    "406": "No representation matches the Accept header.",
    "413": "The request body is larger than the server accepts (answered before reading it).",
    "415": "The body's Content-Type is not one the operation reads.",
    "429": "Too many requests; retry after the Retry-After header's seconds.",
}
NO_NUL = "^[^\\u0000]*$"
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}}


def _error_statuses(operation: dict[str, Any]) -> list[str]:
    parameters = operation.get("parameters", [])
    query = {p["name"] for p in parameters if p.get("in") == "query"}
    has_body = "requestBody" in operation
    statuses = ["401", "403", "406", "413", "429"]
    if query - {"format"} or has_body:
        statuses.append("400")
    if "format" in query or any(p.get("in") == "path" for p in parameters):
        statuses.append("404")
    if has_body:
        statuses.append("415")
    return sorted(statuses)


def _error_response(status: str, media_types: list[str]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERROR_STATUSES[status],
        "content": {media_type: {"schema": ERROR_REF} for media_type in media_types},
    }
    if status == "429":
        response["headers"] = RETRY_AFTER
    return response


def _anonymous_allowed(view: Any, method: str) -> bool:
    """True if every permission of the view lets an anonymous client call it with this method."""
    request = SimpleNamespace(method=method.upper(), user=AnonymousUser(), auth=None)
    return all(permission.has_permission(request, view) for permission in view.get_permissions())


def _public_operations(generator: Any) -> set[tuple[str, str]]:
    public = set()
    for path, _regex, method, callback in generator.endpoints or []:
        view = generator.create_view(callback, method)
        if _anonymous_allowed(view, method):
            public.add((generator.coerce_path(path, method, view), method.lower()))
    return public


def _exclude_nul(schema: dict[str, Any]) -> None:
    """Add NO_NUL to a free-text string schema (no enum, pattern or format of its own), or to its items."""
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        _exclude_nul(schema["items"])
    elif schema.get("type") == "string" and not {"enum", "pattern", "format"} & set(schema):
        schema["pattern"] = NO_NUL


def document_errors_and_auth(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook (see the module docstring)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_COMPONENT] = ERROR_SCHEMA
    # COMPONENT_SPLIT_REQUEST: the request bodies' components are the ones named ...Request.
    for name, component in schemas.items():
        if name.endswith("Request"):
            for field in component.get("properties", {}).values():
                _exclude_nul(field)
    open_operations = _public_operations(generator)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            success: dict[str, Any] = next((r for code, r in sorted(responses.items()) if code.startswith("2")), {})
            media_types = ["application/json", *(m for m in success.get("content", {}) if m != "application/json")]
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    _exclude_nul(parameter.get("schema", {}))
            for status in _error_statuses(operation):
                responses.setdefault(status, _error_response(status, media_types))
            security = operation.get("security")
            if (path, method) in open_operations and security is not None and {} not in security:
                security.append({})
    return result
