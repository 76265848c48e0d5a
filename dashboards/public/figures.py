"""The public board's figures: pure functions of a release's frame (cell, name, bucket, value, unit,
n_sources, suppressed) and the partition's GeoJSON. Suppressed cells are grey and labelled."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures import cell_map, cell_series, empty


def unit_of(frame: pd.DataFrame) -> str:
    units = frame["unit"].dropna().unique()
    return str(units[0]) if len(units) else ""


def public_map(frame: pd.DataFrame, geojson: dict[str, Any], *, bucket: Any, label: str) -> go.Figure:
    hour = frame[frame["bucket"] == bucket]
    if hour.empty:
        return empty(f"No published {label.lower()} in this hour.")
    shown = frame[~frame["suppressed"]]["value"].dropna()
    scale = (float(shown.min()), float(shown.max())) if len(shown) else None
    suppressed = int(hour["suppressed"].sum())
    title = f"{label}, {pd.Timestamp(bucket):%Y-%m-%d %H:00} UTC" + (
        f" ({suppressed} cells suppressed)" if suppressed else ""
    )
    return cell_map(hour, geojson, title=title, unit=unit_of(frame), colour_range=scale)


def public_series(frame: pd.DataFrame, *, bucket: Any, label: str) -> go.Figure:
    """One line per cell; suppressed hours are gaps. With many cells (H3) only the 12 busiest are drawn."""
    if frame.empty:
        return empty("Nothing published in this period.")
    totals = frame.groupby("cell")["value"].sum().sort_values(ascending=False)
    keep = frame[frame["cell"].isin(totals.index[:12])]
    return cell_series(keep, unit=unit_of(frame), title=f"{label}, hourly (up to 12 cells)", marker=bucket)
