"""The comparison board's callbacks: they read the URL, call data.py and draw with figures.py; no
database access of their own."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

import dash
import pandas as pd
from dash import Input, Output, State, ctx, html, no_update

from dashboards.server import request_user
from dashboards.shared import csv_download, table

from . import data, figures

OUTPUTS = [
    "changes-a.children", "changes-b.children", "changes-between.children", "kpi-cards.children",
    "diff-map.figure", "kpi-chart.figure", "series-flow.figure", "series-co2.figure", "top-streets.children",
    "interval.options", "status.children",
]  # fmt: skip


def parse_state(search: str | None) -> dict[str, Any]:
    """?a=RUN&b=RUN&interval=SECONDS&mode=abs|pct -> the controls' values (junk ignored)."""
    query = parse_qs((search or "").lstrip("?"))

    def number(key: str) -> int | None:
        raw = (query.get(key) or [""])[0]
        return int(raw) if raw.isdigit() and len(raw) < 10 else None

    mode = (query.get("mode") or ["abs"])[0]
    return {
        "a": number("a"),
        "b": number("b"),
        "interval": number("interval"),
        "mode": mode if mode in figures.MODES else "abs",
    }


def state_search(a: int | None, b: int | None, interval: int | None, mode: str) -> str:
    values = {"a": a, "b": b, "interval": interval, "mode": mode}
    return "?" + urlencode({k: v for k, v in values.items() if v is not None})


def clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def kpi_card(row: pd.Series) -> html.Div:
    ci = row["ci95"]
    interval = f" ± {ci:.3g}" if ci is not None and not pd.isna(ci) else " (one seed or no interval: ± n/a)"
    pct = "" if row["delta_pct"] is None or pd.isna(row["delta_pct"]) else f" ({row['delta_pct']:+.1f} %)"
    direction = "up" if row["delta"] > 0 else "down" if row["delta"] < 0 else "flat"
    return html.Div(
        className=f"kpi-card kpi-{direction}",
        **{"data-kpi": row["kpi"]},
        children=[
            html.Div(row["label"], className="kpi-label"),
            html.Div(f"{row['delta']:+.4g} {row['unit']}{pct}", className="kpi-delta"),
            html.Div(f"95 % interval{interval} {row['unit'] if '±' in interval else ''}", className="kpi-ci"),
            html.Div(f"A {row['a']:.4g} · B {row['b']:.4g}", className="kpi-means muted"),
        ],
    )


def render(result: data.Comparison, mode: str) -> list[Any]:
    top = figures.top_streets(result.segments, mode)
    options = [{"label": "whole window", "value": ""}] + [
        {"label": f"{clock(s)}", "value": s} for s in result.intervals
    ]
    return [
        [html.Li(c) for c in result.a["changes"]] or [html.Li("no edits (a base)")],
        [html.Li(c) for c in result.b["changes"]] or [html.Li("no edits (a base)")],
        [html.Li(c) for c in result.between] or [html.Li("the same document")],
        [kpi_card(row) for _, row in result.kpis.iterrows()] or html.P("No KPI in common."),
        figures.difference_map(result.segments, mode),
        figures.kpi_figure(result.kpis),
        figures.time_series(result.series, "entered", "vehicles", "Vehicles entering segments, whole network"),
        figures.time_series(result.series, "co2_kg", "kg", "CO₂ emitted, whole network (energy runs)"),
        table(top, "top-streets-table"),
        options,
        f"A: {result.a['label']} — B: {result.b['label']}",
    ]


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("run-a", "value"), Output("run-b", "value"), Output("interval", "value"), Output("mode", "value"),
        Output("url", "search"),
        Input("url", "search"), Input("run-a", "value"), Input("run-b", "value"), Input("interval", "value"),
        Input("mode", "value"),
    )  # fmt: skip
    def sync_url(search: str | None, a: Any, b: Any, interval: Any, mode: str) -> tuple[Any, ...]:
        """The URL and the controls say the same: the URL wins on load, the controls after."""
        if ctx.triggered_id in (None, "url"):
            state = parse_state(search)
            return state["a"], state["b"], state["interval"], state["mode"], no_update
        return no_update, no_update, no_update, no_update, state_search(a, b, interval or None, mode)

    @app.callback(
        [Output(o.split(".")[0], o.split(".")[1]) for o in OUTPUTS],
        Input("run-a", "value"), Input("run-b", "value"), Input("interval", "value"), Input("mode", "value"),
    )  # fmt: skip
    def show(a: int | None, b: int | None, interval: Any, mode: str) -> list[Any]:
        if a is None or b is None:
            return [no_update] * (len(OUTPUTS) - 1) + ["Pick two finished runs."]
        result = data.comparison(request_user(), int(a), int(b), interval=int(interval) if interval else None)
        if result is None:
            return [no_update] * (len(OUTPUTS) - 1) + ["Pick two different finished runs you may see."]
        return render(result, mode or "abs")

    def export(kind: str, a: Any, b: Any, interval: Any, mode: str) -> Any:
        if a is None or b is None:
            return no_update
        result = data.comparison(request_user(), int(a), int(b), interval=int(interval) if interval else None)
        if result is None:
            return no_update
        stem = f"compare-{a}-vs-{b}"
        if kind == "kpis":
            return csv_download(result.kpis, f"{stem}-kpis.csv")
        if kind == "diff-map":
            return csv_download(result.segments.drop(columns=["coords"]), f"{stem}-segments.csv")
        if kind == "top":
            return csv_download(figures.top_streets(result.segments, mode or "abs"), f"{stem}-top-streets.csv")
        if kind == "kpi-chart":
            return csv_download(result.kpis[["label", "delta_pct", "ci95", "b"]], f"{stem}-kpi-change.csv")
        return csv_download(result.series, f"{stem}-series.csv")

    for kind in ("kpis", "diff-map", "top", "kpi-chart", "series-flow", "series-co2"):

        @app.callback(
            Output(f"{kind}-csv", "data"), Input(f"{kind}-csv-button", "n_clicks"),
            State("run-a", "value"), State("run-b", "value"), State("interval", "value"), State("mode", "value"),
            prevent_initial_call=True,
        )  # fmt: skip
        def download(_: int, a: Any, b: Any, interval: Any, mode: str, kind: str = kind) -> Any:
            return export(kind, a, b, interval, mode)

    @app.callback(
        Output("publish-result", "children"), Input("publish", "n_clicks"),
        State("run-a", "value"), State("run-b", "value"), State("publish-title", "value"),
        prevent_initial_call=True,
    )  # fmt: skip
    def publish(_: int, a: Any, b: Any, title: str | None) -> str:
        if a is None or b is None:
            return "Pick two runs first."
        return data.publish(request_user(), int(a), int(b), title=title or "")
