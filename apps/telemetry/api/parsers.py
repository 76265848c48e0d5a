"""The request parser of HTTP ingest: a JSON array read element by element (apps/telemetry/payloads.py).

DRF's JSONParser fails the whole body with a RecursionError (a 500) on deeply nested JSON and with a 400 on a
NaN; here an element that cannot be read becomes an Unreadable that ingest quarantines on its own, NaN and
Infinity reach the quality gate (not_finite), and only a body that is not JSON at all is a ParseError (400)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from apps.telemetry.payloads import PayloadError, loads_message


class ReadingBatchParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding) if stream is not None else ""
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - the body is not {encoding} text ({exc.reason})") from exc
        try:
            return loads_message(text)
        except PayloadError as exc:
            raise ParseError(f"JSON parse error - {exc.detail.removeprefix('not JSON: ')}") from exc
