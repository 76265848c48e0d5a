"""The city-by-district board's callbacks: load the period once (data.py), then draw each hour from the
browser's copy; Play advances the slider hour by hour."""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, ctx, no_update

from dashboards.server import request_user
from dashboards.shared import csv_download

from . import data, figures


def frame_of(stored: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(stored["rows"], columns=stored["columns"])
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    return frame


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("district-data", "data"), Output("hour", "max"), Output("hour", "value"), Output("hour", "marks"),
        Input("url", "pathname"),
    )  # fmt: skip
    def load(_: str) -> tuple[Any, ...]:
        start, end = data.window()
        frame = data.district_frame(request_user(), start, end)
        hours = data.hours_of(start, end)
        stored = {
            "columns": list(frame.columns),
            "rows": frame.assign(bucket=frame["bucket"].map(lambda b: b.isoformat())).values.tolist(),
            "hours": [h.isoformat() for h in hours],
            "geojson": data.outlines(),
        }
        marks = {i: f"{h:%a %H:00}" for i, h in enumerate(hours) if h.hour == 0}
        return stored, len(hours) - 1, len(hours) - 1, marks

    @app.callback(
        Output("district-map", "figure"), Output("district-series", "figure"), Output("hour-label", "children"),
        Input("district-data", "data"), Input("measure", "value"), Input("hour", "value"),
    )  # fmt: skip
    def draw(stored: dict[str, Any] | None, measure: str, hour: int) -> tuple[Any, ...]:
        if not stored:
            return no_update, no_update, ""
        _, label, unit = data.MEASURES[measure]
        bucket = pd.Timestamp(stored["hours"][hour])
        frame = frame_of(stored)
        return (
            figures.district_map(frame, stored["geojson"], measure=measure, bucket=bucket, label=label, unit=unit),
            figures.district_series(frame, measure=measure, bucket=bucket, label=label, unit=unit),
            f" {bucket:%Y-%m-%d %H:00} UTC",
        )

    @app.callback(
        Output("tick", "disabled"), Output("play", "children"), Output("hour", "value", allow_duplicate=True),
        Input("play", "n_clicks"), Input("tick", "n_intervals"),
        State("tick", "disabled"), State("hour", "value"), State("hour", "max"),
        prevent_initial_call=True,
    )  # fmt: skip
    def play(_: int, __: int, stopped: bool, hour: int, last: int) -> tuple[Any, ...]:
        if ctx.triggered_id == "play":
            if stopped:  # start, from the beginning when at the end
                return False, "Pause", 0 if hour >= last else no_update
            return True, "Play", no_update
        if hour >= last:
            return True, "Play", no_update
        return no_update, no_update, hour + 1

    for graph in ("district-map", "district-series"):

        @app.callback(
            Output(f"{graph}-csv", "data"), Input(f"{graph}-csv-button", "n_clicks"),
            State("district-data", "data"), State("measure", "value"), State("hour", "value"),
            prevent_initial_call=True,
        )  # fmt: skip
        def download(_: int, stored: dict[str, Any] | None, measure: str, hour: int, graph: str = graph) -> Any:
            if not stored:
                return no_update
            frame = frame_of(stored)
            frame = frame[frame["measure"] == measure]
            if graph == "district-map":
                frame = frame[frame["bucket"] == pd.Timestamp(stored["hours"][hour])]
            return csv_download(frame, f"districts-{measure}-{graph.split('-')[1]}.csv")
