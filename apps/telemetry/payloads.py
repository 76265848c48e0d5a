"""Reading JSON that devices and clients send, when it may be hostile: shared by MQTT and HTTP ingest.

Python's json module recurses once per nesting level, so a few kilobytes of `[[[[...` raise RecursionError
(not ValueError), and code that later walks a merely deep value (repr, json.dumps) can fail the same way.
An integer of more than 4,300 digits raises ValueError from inside the parser. Either used to fail a whole
batch. Here:

- loads_message() reads a message or request body. A top-level array is read element by element: an
  element that cannot be read (nested too deeply, a number too long) becomes an Unreadable in its place,
  so only that reading is quarantined; a syntax error anywhere still fails the whole document (there is no
  telling where the elements begin and end).
- Anything nested deeper than MAX_DEPTH levels is refused before any recursive code sees it.
- loads_fast() is the common case first: orjson (several times faster than json on the small documents
  devices send) when it can read the document and its answer is what json's would be; everything else
  (NaN, integers beyond 64 bits, which orjson turns into floats, UTF-16, a BOM, anything possibly nested
  too deeply) goes the careful way above, with the same outcome and the same messages as before.
- pg_text() makes a string storable in a PostgreSQL text column (no NUL; no lone surrogates, which JSON
  may carry as escapes but UTF-8 cannot encode).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import Any, Final

import orjson

from apps.core import nesting

# A reading is an object whose `values` is an object of numbers: 2 levels. Room for extension fields.
MAX_DEPTH = 16
MAX_TEXT = 4096  # of an unreadable element, kept for the quarantine

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
# A JSON string (skipped whole), a run of opening or of closing brackets: enough to find where an
# unreadable element ends, in steps of whole runs (`[[[[...` is one step).
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]+|[\]}]+')
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
# Maybe an integer outside -2**63..2**64-1, which orjson reads as a float (json: an int): 19 digits in a
# row (also matches some that orjson reads right, longer decimals, digits in strings: they just go the
# careful way).
_LONG_DIGITS = re.compile(r"[0-9]{19}")
_LONG_DIGITS_BYTES = re.compile(rb"[0-9]{19}")
CAREFUL: Final = object()  # loads_fast(): this document must go the careful way


class PayloadError(ValueError):
    """The document as a whole cannot be read; `detail` says why, for the sender."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Unreadable:
    """An element of an array that could not be read; its neighbours were."""

    detail: str
    text: str  # the element as sent, truncated to MAX_TEXT


TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    return nesting.too_deep(value, limit)


def _unreadable_detail(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return TOO_DEEP
    # int() refuses more digits than sys.get_int_max_str_digits() (4,300 by default)
    return f"a number has more than {sys.get_int_max_str_digits()} digits"


def loads_fast(raw: bytes | str) -> Any:
    """The parsed document, or CAREFUL if it must be read by loads_message() (bytes: after decoding them)."""
    long_digits = _LONG_DIGITS_BYTES.search(raw) if isinstance(raw, bytes) else _LONG_DIGITS.search(raw)
    if long_digits is not None:
        return CAREFUL
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:  # not JSON, NaN, not UTF-8, a BOM, nested beyond orjson's own limit
        return CAREFUL
    # Fewer brackets than MAX_DEPTH cannot nest deeper than it: no walk needed (a reading has 2).
    brackets = raw.count(b"[") + raw.count(b"{") if isinstance(raw, bytes) else raw.count("[") + raw.count("{")
    if brackets > MAX_DEPTH and (any(too_deep(item) for item in value) if isinstance(value, list) else too_deep(value)):
        return CAREFUL  # the careful way keeps the neighbours of an element nested too deeply
    return value


def loads_message(text: str) -> Any:
    """Parse one JSON document (NaN and Infinity are read as floats: the quality gate refuses them per
    reading). Raises PayloadError if the document cannot be read or a non-array one nests too deeply."""
    fast = loads_fast(text)
    if fast is not CAREFUL:
        return fast
    start = _SPACE.match(text).end()  # type: ignore[union-attr]  # matches the empty string at worst
    is_array = text.startswith("[", start)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"not JSON: {exc}") from exc
    except (RecursionError, ValueError) as exc:
        if is_array:
            return _loads_array(text, start)
        raise PayloadError(_unreadable_detail(exc)) from exc
    if is_array:
        # In one go while every element is fine (the common case: 3x faster than element by element);
        # otherwise again element by element, for the text of the ones that are not.
        return _loads_array(text, start) if any(too_deep(item) for item in value) else value
    if too_deep(value):
        raise PayloadError(TOO_DEEP)
    return value


def _loads_array(text: str, at: int) -> list[Any]:
    items: list[Any] = []
    pos = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    if text.startswith("]", pos):
        pos += 1
    else:
        while True:
            start = pos
            try:
                value, pos = _DECODER.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                raise PayloadError(f"not JSON: {exc}") from exc
            except (RecursionError, ValueError) as exc:
                pos = _end_of_value(text, start)
                items.append(Unreadable(_unreadable_detail(exc), text[start:pos][:MAX_TEXT]))
            else:
                items.append(Unreadable(TOO_DEEP, text[start:pos][:MAX_TEXT]) if too_deep(value) else value)
            pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
            if text.startswith(",", pos):
                pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
                continue
            if text.startswith("]", pos):
                pos += 1
                break
            raise PayloadError(f"not JSON: expected ',' or ']' at char {pos}")
    if _SPACE.match(text, pos).end() != len(text):  # type: ignore[union-attr]
        raise PayloadError(f"not JSON: extra data at char {pos}")
    return items


def _end_of_value(text: str, start: int) -> int:
    """Where the value starting at `start` ends, found without parsing it (it could not be parsed)."""
    if not text.startswith(("[", "{"), start):
        number = _NUMBER.match(text, start)
        if number is None:
            raise PayloadError(f"not JSON: unreadable value at char {start}")
        return number.end()
    depth = 0
    for match in _STRUCTURE.finditer(text, start):
        run = match.group()
        if run[0] in "[{":
            depth += len(run)
        elif run[0] != '"':
            if len(run) >= depth:
                return match.start() + depth
            depth -= len(run)
    raise PayloadError(f"not JSON: the value at char {start} is never closed")


def pg_text(text: str) -> str:
    """`text` as PostgreSQL can store it: NUL removed, lone surrogates replaced."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text
