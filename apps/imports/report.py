"""What an import found: rows prepared for a target table, per-row issues, and per-kind counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

from .targets import Target

MAX_STORED_ISSUES = 2000  # an ImportRun keeps the first ones; the counts are always complete


@dataclass
class RowIssue:
    file: str
    layer: str
    row: int | None
    feature_id: str | None
    field: str
    reason: str
    action: str  # rejected | repaired | warning

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def __str__(self) -> str:
        where = f"{self.file}"
        if self.layer:
            where += f" layer {self.layer}"
        if self.row is not None:
            where += f" row {self.row}"
        if self.feature_id:
            where += f" (id {self.feature_id})"
        return f"{where}, field {self.field}: {self.reason} [{self.action}]"


@dataclass
class PreparedRows:
    """Rows ready for staging: columns row, layer, source_id, geometry (shapely), tags (dict) and the
    target's columns. `srid` is the rows' CRS; `issues` what was found while preparing them.
    `build_graph`: roads that are lines, not a graph; the load splits and joins them (road_graph.py)."""

    target: Target
    srid: int
    frame: pd.DataFrame
    issues: list[RowIssue] = field(default_factory=list)
    build_graph: bool = False


@dataclass
class KindCounts:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    repaired: int = 0
    rejected: int = 0
    warnings: int = 0
    deleted: int = 0

    def add(self, other: KindCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
