"""Lenient number parsing for source attributes ("12", "12.5 m", "4;5"), reporting what it could not read."""

from __future__ import annotations

import math
import re
from typing import Any

_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def parse_number(value: Any) -> float | None:
    """The first number in `value`, or None if blank. Raises ValueError when there is no number in it."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        return float(value)
    match = _NUMBER.search(str(value))
    if match is None:
        raise ValueError(f"{str(value)[:40]!r} is not a number")
    return float(match.group().replace(",", "."))


def parse_bool(value: Any) -> bool | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"yes", "true", "1", "y", "t"}:
        return True
    if text in {"no", "false", "0", "n", "f"}:
        return False
    raise ValueError(f"{str(value)[:40]!r} is not yes/no")
