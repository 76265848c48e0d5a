"""How tall a building is: `height` if tagged, else `building:levels` x LEVEL_HEIGHT_M, else the default.
Feet ("40'", "40 ft") are converted; implausible values are ignored with a warning."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apps.core.parsing import parse_number

from .models import DEFAULT_HEIGHT_M, LEVEL_HEIGHT_M, HeightSource

MAX_PLAUSIBLE_HEIGHT_M = 1000.0
MAX_PLAUSIBLE_LEVELS = 200


@dataclass
class ResolvedHeight:
    height_m: float
    source: HeightSource
    levels: int | None
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (field, reason)


def resolve_height(
    height: Any, levels: Any, *, height_field: str = "height", levels_field: str = "building:levels"
) -> ResolvedHeight:
    warnings: list[tuple[str, str]] = []
    level_count: int | None = None
    try:
        parsed_levels = parse_number(levels)
        if parsed_levels is not None:
            if 0 <= parsed_levels <= MAX_PLAUSIBLE_LEVELS:
                level_count = int(round(parsed_levels))
            else:
                warnings.append((levels_field, f"{parsed_levels:g} levels is implausible; ignored"))
    except ValueError as exc:
        warnings.append((levels_field, f"{exc}; ignored"))
    try:
        metres = parse_number(height)
        if metres is not None:
            text = str(height).lower()
            if "'" in text or "ft" in text or "feet" in text:
                metres *= 0.3048
            if 0 < metres <= MAX_PLAUSIBLE_HEIGHT_M:
                return ResolvedHeight(round(metres, 2), HeightSource.TAG, level_count, warnings)
            warnings.append((height_field, f"{metres:g} m is implausible; ignored"))
    except ValueError as exc:
        warnings.append((height_field, f"{exc}; ignored"))
    if level_count:
        return ResolvedHeight(level_count * LEVEL_HEIGHT_M, HeightSource.LEVELS, level_count, warnings)
    return ResolvedHeight(DEFAULT_HEIGHT_M, HeightSource.DEFAULT, level_count, warnings)
