"""The comparison board's figures: pure functions of data frames (no database, no Dash), unit-tested in
tests/test_dash_figures.py."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboards.figures import DIVERGING, RUN_COLOURS, centre_of, empty, map_layout, zoom_for

# The map's classes of change, symmetric around zero: (upper bound of |change| of the class, line width).
# Changes under the first bound are "small": drawn thin and in the neutral grey.
ABS_CLASSES = ((5.0, 1.0), (50.0, 2.5), (math.inf, 5.0))  # vehicles per hour
PCT_CLASSES = ((5.0, 1.0), (25.0, 2.5), (math.inf, 5.0))  # percent
MODES = {"abs": ("flow_diff", "veh/h", ABS_CLASSES), "pct": ("flow_pct", "%", PCT_CLASSES)}


def change_class(value: float, classes: tuple[tuple[float, float], ...]) -> int:
    """-3..3: the class of a change (0: small, sign: direction)."""
    size = abs(value)
    for index, (upper, _) in enumerate(classes):
        if size < upper:
            return 0 if index == 0 else int(math.copysign(index, value))
    return int(math.copysign(len(classes) - 1, value))


def class_colour(k: int, n_classes: int) -> str:
    """The diverging colour of class k: the strongest classes get the palette's ends, 0 its neutral middle."""
    step = math.ceil(abs(k) * (len(DIVERGING) // 2) / (n_classes - 1))
    return DIVERGING[len(DIVERGING) // 2 + int(math.copysign(step, k))]


def difference_map(segments: pd.DataFrame, mode: str) -> go.Figure:
    """Per-segment change of flow, run A minus run B, absolute (veh/h) or percent of B: one line trace per
    class, diverging colours (red: more traffic, blue: less), small changes thin and grey. Segments
    without a percent (no traffic in B) are left out of the percent map and counted in its title."""
    column, unit, classes = MODES[mode]
    rows = segments.dropna(subset=[column])
    if rows.empty:
        return empty("No segment has a difference to show.")
    figure = go.Figure()
    cls = rows[column].map(lambda v: change_class(float(v), classes))
    for k in range(-(len(classes) - 1), len(classes)):
        part = rows[cls == k]
        if part.empty:
            continue
        lons: list[float | None] = []
        lats: list[float | None] = []
        texts: list[str | None] = []
        for _, row in part.iterrows():
            label = f"{row['name'] or 'unnamed road'} (segment {row['segment']}): {row[column]:+.1f} {unit}"
            for line in row["coords"]:
                lons += [p[0] for p in line] + [None]
                lats += [p[1] for p in line] + [None]
                texts += [label] * len(line) + [None]
        width = classes[abs(k)][1]
        upper = classes[abs(k)][0]
        lower = classes[abs(k) - 1][0] if k else 0
        name = (
            f"|change| < {classes[0][0]:g} {unit}"
            if k == 0
            else f"{'+' if k > 0 else '−'}{lower:g}{'' if math.isinf(upper) else f'–{upper:g}'}"
            f"{'+' if math.isinf(upper) else ''} {unit}"
        )
        figure.add_trace(
            go.Scattermap(
                lon=lons, lat=lats, text=texts, mode="lines", name=name, hoverinfo="text",
                line={"width": width, "color": class_colour(k, len(classes))},
            )
        )  # fmt: skip
    all_x = [p[0] for lines in rows["coords"] for line in lines for p in line]
    all_y = [p[1] for lines in rows["coords"] for line in lines for p in line]
    bounds = (min(all_x), min(all_y), max(all_x), max(all_y))
    left_out = len(segments) - len(rows)
    title = f"Flow, A − B ({'veh/h' if mode == 'abs' else 'percent of B'})"
    if left_out:
        title += f"; {left_out} segments without traffic in B not shown"
    return map_layout(figure, centre_of(bounds), zoom_for(bounds), title)


def kpi_figure(kpis: pd.DataFrame) -> go.Figure:
    """The KPI deltas in percent of run B with their 95 % intervals as error bars (also in percent)."""
    rows = kpis.dropna(subset=["delta_pct"])
    if rows.empty:
        return empty("The two runs have no KPI in common.")
    ci_pct = [
        100 * ci / abs(b) if ci is not None and not pd.isna(ci) and b else None
        for ci, b in zip(rows["ci95"], rows["b"], strict=True)
    ]
    colours = [DIVERGING[5] if d > 0 else DIVERGING[1] for d in rows["delta_pct"]]
    figure = go.Figure(
        go.Bar(
            x=rows["delta_pct"], y=rows["label"], orientation="h", marker_color=colours,
            error_x={"type": "data", "array": [c if c is not None else 0 for c in ci_pct], "visible": True},
            hovertemplate="%{y}: %{x:+.1f} %<extra></extra>",
        )
    )  # fmt: skip
    figure.update_layout(
        title={"text": "KPI change, A − B, in % of B (bars: 95 % interval across seeds)", "x": 0.01},
        xaxis={"title": "% of run B", "zeroline": True},
        yaxis={"autorange": "reversed"},
        margin={"l": 10, "r": 10, "t": 40, "b": 40},
    )
    return figure


def time_series(series: pd.DataFrame, measure: str, unit: str, title: str) -> go.Figure:
    """Both runs' network totals per result interval (clock time on the x axis)."""
    if series.empty:
        return empty("No results per interval.")
    figure = go.Figure()
    for run in ("A", "B"):
        part = series[series["run"] == run].sort_values("interval_begin")
        clock = [f"{int(s) // 3600:02d}:{int(s) % 3600 // 60:02d}" for s in part["interval_begin"]]
        figure.add_trace(
            go.Scatter(x=clock, y=part[measure], mode="lines+markers", name=f"run {run}",
                       line={"color": RUN_COLOURS[run]})
        )  # fmt: skip
    figure.update_layout(
        title={"text": title, "x": 0.01},
        xaxis={"title": "interval start"}, yaxis={"title": unit}, margin={"l": 10, "r": 10, "t": 40, "b": 40},
    )  # fmt: skip
    return figure


def top_streets(segments: pd.DataFrame, mode: str, n: int = 20) -> pd.DataFrame:
    """The n streets most affected, ranked by their most changed segment (|change| in the mode's unit: a
    closed segment of a long street counts fully, not diluted by the street's other segments). Unnamed
    segments stand alone. Columns: street, segments, the peak segment, its flows and changes, and the
    street's mean change over its segments."""
    columns = [
        "street",
        "segments",
        "peak_segment",
        "flow_b",
        "flow_a",
        "change_veh_h",
        "change_pct",
        "mean_change_veh_h",
    ]
    key = "flow_diff" if mode == "abs" else "flow_pct"
    rows = segments.dropna(subset=[key])
    if rows.empty:
        return pd.DataFrame(columns=columns)
    street = rows["name"].replace("", np.nan).fillna("segment " + rows["segment"].astype(str))
    rows = rows.assign(street=street, size=rows[key].abs())
    peak = rows.sort_values("size", ascending=False).groupby("street", sort=False).head(1).set_index("street")
    counts = segments.assign(
        street=segments["name"].replace("", np.nan).fillna("segment " + segments["segment"].astype(str))
    )
    out = pd.DataFrame(
        {
            "segments": counts.groupby("street")["segment"].count().reindex(peak.index),
            "peak_segment": peak["segment"],
            "flow_b": peak["flow_b"],
            "flow_a": peak["flow_a"],
            "change_veh_h": peak["flow_diff"],
            "change_pct": peak["flow_pct"],
            "mean_change_veh_h": counts.groupby("street")["flow_diff"].mean().reindex(peak.index),
        }
    )
    return out.head(n).round(1).rename_axis("street").reset_index()[columns]
