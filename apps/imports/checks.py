"""Per-row checks every batch gets before it is staged, whatever the format (OSM included): ids and text
that fit their columns, whole numbers inside their column's range. Without them one long value fails
the whole file in PostgreSQL (varchar(N), smallint), dry runs included.

An identifier too long for its column (source_id, a sensor's or district's code) rejects its row: a
cut id would be another feature's id. Descriptive text (name, use, highway, operator, ...) is cut to
the column's length with a warning; a number out of range is left empty with a warning. The limits
come from the models (Django's field max_length and the database's integer ranges), so they cannot
drift from the tables."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models

from .report import PreparedRows, RowIssue
from .targets import Target

SHOWN_ID_CHARS = 40


@dataclass(frozen=True)
class Limit:
    max_length: int | None = None  # text columns
    low: int | None = None  # whole-number columns
    high: int | None = None


@cache
def column_limits(target: Target) -> dict[str, Limit]:
    """The limit of source_id and of every staged column the model bounds."""
    model = apps.get_model(target.model)
    limits: dict[str, Limit] = {}
    for name in ("source_id", *(c.name for c in target.columns)):
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:  # staging-only columns (road node keys) have no model field
            continue
        if isinstance(model_field, models.CharField) and model_field.max_length:
            limits[name] = Limit(max_length=model_field.max_length)
        elif isinstance(model_field, models.IntegerField):  # Small/Big/Positive variants included
            low, high = connection.ops.integer_field_range(model_field.get_internal_type())
            limits[name] = Limit(low=low, high=high)
    return limits


def source_max_length() -> int:
    field = apps.get_model("buildings.Building")._meta.get_field("source")
    assert isinstance(field, models.CharField) and field.max_length
    return field.max_length


def _lengths(values: pd.Series) -> np.ndarray:
    """Characters per value (0 for what is not text)."""
    if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return np.zeros(len(values), dtype=np.int64)
    if pd.api.types.infer_dtype(values, skipna=True) == "string":  # the usual case, without a Python loop
        lengths: np.ndarray = values.str.len().fillna(0).to_numpy(dtype=np.int64)
        return lengths
    return np.fromiter((len(v) if isinstance(v, str) else 0 for v in values), dtype=np.int64, count=len(values))


def _shown_id(value: object) -> str:
    text = str(value)
    return text if len(text) <= SHOWN_ID_CHARS else text[:SHOWN_ID_CHARS] + "..."


def fit_to_columns(rows: PreparedRows, *, file_name: str) -> PreparedRows:
    """Rows that fit their columns: too-long ids rejected, long text cut, out-of-range numbers dropped,
    each with an issue naming the row, id and field."""
    frame = rows.frame
    if frame.empty:
        return rows
    target = rows.target
    limits = column_limits(target)
    issues = list(rows.issues)
    positions = np.arange(len(frame))

    def issue(i: int, field: str, reason: str, action: str) -> None:
        row = frame["row"].iloc[i]
        issues.append(
            RowIssue(
                file_name,
                str(frame["layer"].iloc[i]),
                None if pd.isna(row) else int(row),
                _shown_id(frame["source_id"].iloc[i]),
                field,
                reason,
                action,
            )
        )

    rejected = np.zeros(len(frame), dtype=bool)
    for name in ("source_id", *target.identifiers):
        limit = limits.get(name)
        if limit is None or limit.max_length is None or name not in frame.columns:
            continue
        lengths = _lengths(frame[name])
        too_long = (lengths > limit.max_length) & ~rejected
        for i in positions[too_long]:
            field = "id" if name == "source_id" else name
            issue(i, field, f"is {int(lengths[i])} characters long; at most {limit.max_length} fit", "rejected")
        rejected |= too_long

    changed = {}
    for name, limit in limits.items():
        if name == "source_id" or name in target.identifiers or name not in frame.columns:
            continue
        values = frame[name]
        if limit.max_length is not None:
            lengths = _lengths(values)
            long_text = (lengths > limit.max_length) & ~rejected
            if long_text.any():
                for i in positions[long_text]:
                    issue(
                        i,
                        name,
                        f"is {int(lengths[i])} characters long; cut to the {limit.max_length} the column holds",
                        "warning",
                    )
                changed[name] = values.where(~long_text, values.str.slice(0, limit.max_length))
        elif limit.low is not None and limit.high is not None:
            numbers = pd.to_numeric(values, errors="coerce").round()
            out = (((numbers < limit.low) | (numbers > limit.high)).fillna(False).to_numpy(dtype=bool)) & ~rejected
            if out.any():
                for i in positions[out]:
                    issue(i, name, f"{values.iloc[i]} is outside {limit.low}..{limit.high}; ignored", "warning")
                changed[name] = values.where(~out, None)
    if not rejected.any() and not changed:
        return rows
    frame = frame.assign(**changed)[~rejected]
    return PreparedRows(target, rows.srid, frame, issues)
