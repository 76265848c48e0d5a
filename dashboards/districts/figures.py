"""The city-by-district board's figures: pure functions of the hourly data frame (measure, cell, name,
bucket, value, sensors, suppressed) and the districts' GeoJSON."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures import cell_map, cell_series, empty


def colour_range(frame: pd.DataFrame) -> tuple[float, float] | None:
    values = frame.loc[~frame["suppressed"], "value"].dropna()
    return (float(values.min()), float(values.max())) if len(values) else None


def district_map(
    frame: pd.DataFrame, geojson: dict[str, Any], *, measure: str, bucket: Any, label: str, unit: str
) -> go.Figure:
    """The measure per district in one hour, on the colour scale of the whole period (so a replay compares
    hours, not each hour with itself)."""
    rows = frame[frame["measure"] == measure]
    hour = rows[rows["bucket"] == bucket]
    if hour.empty:
        return empty(f"No {label.lower()} in this hour.")
    title = f"{label}, {pd.Timestamp(bucket):%Y-%m-%d %H:00} UTC"
    return cell_map(hour, geojson, title=title, unit=unit, colour_range=colour_range(rows))


def district_series(frame: pd.DataFrame, *, measure: str, bucket: Any, label: str, unit: str) -> go.Figure:
    return cell_series(
        frame[frame["measure"] == measure], unit=unit, title=f"{label} per district, hourly", marker=bucket
    )
