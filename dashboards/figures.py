"""What every board's figures share: the map style that needs no network, the OSM attribution, the
diverging and sequential colours, and the grey of suppressed cells."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

OSM_ATTRIBUTION = "(c) OpenStreetMap contributors, ODbL"
# No tiles: Plotly's maps draw on a blank style, so a board needs no tile server and no network.
MAP_STYLE = "white-bg"
# Diverging, colour-blind safe (ColorBrewer RdBu, reversed: red = more, blue = less).
DIVERGING = ["#2166ac", "#67a9cf", "#d1e5f0", "#e0e0e0", "#fddbc7", "#ef8a62", "#b2182b"]
SEQUENTIAL = "Viridis"
SUPPRESSED_GREY = "#bdbdbd"
RUN_COLOURS = {"A": "#b2182b", "B": "#2166ac"}


def attribution(figure: go.Figure, text: str = OSM_ATTRIBUTION) -> go.Figure:
    figure.add_annotation(
        text=text, xref="paper", yref="paper", x=1, y=0, xanchor="right", yanchor="bottom", showarrow=False,
        font={"size": 10, "color": "#444"}, bgcolor="rgba(255,255,255,0.8)",
    )  # fmt: skip
    return figure


def map_layout(figure: go.Figure, center: dict[str, float], zoom: float, title: str) -> go.Figure:
    figure.update_layout(
        map={"style": MAP_STYLE, "center": center, "zoom": zoom},
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
        title={"text": title, "x": 0.01},
        legend={"bgcolor": "rgba(255,255,255,0.85)", "x": 0.01, "y": 0.99},
    )
    return attribution(figure)


def centre_of(bounds: tuple[float, float, float, float]) -> dict[str, float]:
    x0, y0, x1, y1 = bounds
    return {"lon": (x0 + x1) / 2, "lat": (y0 + y1) / 2}


def zoom_for(bounds: tuple[float, float, float, float]) -> float:
    """A zoom that fits the box in a board-sized map (about 700 px wide)."""
    import math

    span = max(bounds[2] - bounds[0], (bounds[3] - bounds[1]) * 2, 1e-4)
    return max(1.0, min(17.0, math.log2(360 * 700 / 256 / span) - 0.3))


def empty(message: str) -> go.Figure:
    """A figure that says why there is nothing to show."""
    figure = go.Figure()
    figure.add_annotation(text=message, showarrow=False, font={"size": 14}, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_layout(xaxis={"visible": False}, yaxis={"visible": False}, margin={"l": 0, "r": 0, "t": 10, "b": 0})
    return figure


def geojson_bounds(geojson: dict[str, Any]) -> tuple[float, float, float, float] | None:
    xs: list[float] = []
    ys: list[float] = []

    def walk(c: Any) -> None:
        if c and isinstance(c[0], int | float):
            xs.append(float(c[0]))
            ys.append(float(c[1]))
        else:
            for item in c:
                walk(item)

    for feature in geojson.get("features", []):
        walk(feature["geometry"]["coordinates"])
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def cell_map(
    frame: Any, geojson: dict[str, Any], *, title: str, unit: str, colour_range: tuple[float, float] | None
) -> go.Figure:
    """A choropleth of cells (districts or H3 hexagons; features keyed by properties.cell) for one hour:
    frame has cell, name, value, suppressed. Suppressed cells are grey and say so; cells without a row
    are not drawn. colour_range fixes the scale across hours (a replay must not rescale every frame)."""
    figure = go.Figure()
    shown = frame[~frame["suppressed"] & frame["value"].notna()]
    hidden = frame[frame["suppressed"]]
    if not shown.empty:
        low, high = colour_range or (float(shown["value"].min()), float(shown["value"].max()))
        figure.add_trace(
            go.Choroplethmap(
                geojson=geojson, featureidkey="properties.cell", locations=shown["cell"].astype(str),
                z=shown["value"], text=shown["name"], colorscale=SEQUENTIAL, zmin=low, zmax=high,
                marker={"opacity": 0.75, "line": {"width": 1, "color": "#fff"}}, name=unit,
                colorbar={"title": {"text": unit}}, hovertemplate="%{text}: %{z:.4g} " + unit + "<extra></extra>",
            )
        )  # fmt: skip
    if not hidden.empty:
        figure.add_trace(
            go.Choroplethmap(
                geojson=geojson, featureidkey="properties.cell", locations=hidden["cell"].astype(str),
                z=[0] * len(hidden), text=hidden["name"], colorscale=[[0, SUPPRESSED_GREY], [1, SUPPRESSED_GREY]],
                showscale=False, marker={"opacity": 0.6, "line": {"width": 1, "color": "#fff"}},
                name="suppressed (too few sources)", showlegend=True,
                hovertemplate="%{text}: suppressed (too few sources to publish)<extra></extra>",
            )
        )  # fmt: skip
    bounds = geojson_bounds(geojson) or (24.92, 60.16, 24.96, 60.175)
    return map_layout(figure, centre_of(bounds), zoom_for(bounds), title)


def cell_series(frame: Any, *, unit: str, title: str, marker: Any = None) -> go.Figure:
    """One line per cell over the hours (suppressed hours are gaps), with a vertical line at `marker`."""
    if frame.empty:
        return empty("No data in this period.")
    figure = go.Figure()
    for name, part in frame.sort_values("bucket").groupby("name", sort=True):
        values = part["value"].where(~part["suppressed"])
        figure.add_trace(go.Scatter(x=part["bucket"], y=values, mode="lines", name=str(name), connectgaps=False))
    if marker is not None:
        figure.add_vline(x=marker, line={"color": "#333", "dash": "dot"})
    figure.update_layout(
        title={"text": title, "x": 0.01}, yaxis={"title": unit}, margin={"l": 10, "r": 10, "t": 40, "b": 40},
        legend={"font": {"size": 10}},
    )  # fmt: skip
    return figure
