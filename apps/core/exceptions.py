"""Domain errors and their one mapping to API responses: services raise these, never HTTP errors.

Every error the API answers has one body shape, documented once in the OpenAPI schema (component `Error`,
see apps/core/schema.py and docs/api.md): `{"code": str, "detail": str, "errors"?: ...}`. `code` is stable and
machine-readable; `detail` is a sentence for people; `errors` carries field-level messages (a validation
error's `{"field": ["message", ...]}`) when there are any. DRF's own errors (not authenticated, not found,
throttled, a malformed body...) are rewritten into that shape here, keeping their status and headers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .geo import BBoxError

# The code of each DRF error, as clients see it. ValidationError's per-field codes vary ("required",
# "invalid_choice", ...), so a validation error is always "invalid" with the fields' messages in `errors`.
VALIDATION_CODE = "invalid"


class DomainError(Exception):
    """Base for errors a user caused and can fix; `code` is stable and documented in the API."""

    code = "invalid"
    http_status = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def error_body(code: str, detail: str, errors: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return body


def _sentence(errors: Any) -> str:
    """One readable line from DRF's nested error detail: 'bbox: must be four numbers; limit: ...'."""
    if isinstance(errors, dict):
        parts = [f"{field}: {_sentence(messages)}" for field, messages in errors.items()]
        return "; ".join(parts)
    if isinstance(errors, list):
        return " ".join(_sentence(message) for message in errors)
    return str(errors)


def _code(exc: Exception) -> str:
    if isinstance(exc, Http404):
        return exceptions.NotFound.default_code
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied.default_code
    if isinstance(exc, exceptions.ValidationError):
        return VALIDATION_CODE
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        return codes if isinstance(codes, str) else str(exc.default_code)
    return "error"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.http_status)
    if isinstance(exc, BBoxError):
        return Response(error_body("invalid_bbox", str(exc)), status=status.HTTP_400_BAD_REQUEST)
    # DRF's handler sets the status and the headers (Retry-After, WWW-Authenticate, Allow); only the body
    # is ours. None means not an API error: a bug, answered 500 and logged by Django.
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        response.data = error_body(_code(exc), _sentence(data["detail"]))
    else:  # field-level messages: a validation error, or a view raising an error with a dict or list
        response.data = error_body(_code(exc), _sentence(data) or "invalid input", errors=data)
    return response
