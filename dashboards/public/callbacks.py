"""The public board's callbacks: one release per dataset and partition (data.py, i.e. the privacy
module), each hour drawn from the browser's copy of it."""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, html, no_update

from dashboards.shared import csv_download

from . import data, figures


def frame_of(stored: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(stored["rows"], columns=stored["columns"])
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    frame["suppressed"] = frame["suppressed"].astype(bool)
    return frame


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("public-data", "data"), Output("public-hour", "max"), Output("public-hour", "value"),
        Output("licence", "children"), Output("public-status", "children"),
        Input("dataset", "value"), Input("partition", "value"),
    )  # fmt: skip
    def load(dataset: str, partition: str) -> tuple[Any, ...]:
        start, end = data.window()
        try:
            release = data.public_release(dataset, partition, start, end)
        except data.Unavailable as exc:
            return None, 0, 0, "", str(exc)
        hours = sorted({b.isoformat() for b in release.frame["bucket"]})
        frame = release.frame.assign(bucket=release.frame["bucket"].map(lambda b: b.isoformat()))
        stored = {"columns": list(frame.columns), "rows": frame.values.tolist(), "hours": hours,
                  "geojson": release.geojson, "dataset": dataset, "partition": partition}  # fmt: skip
        epsilon = f" Counts carry differential-privacy noise (ε = {release.epsilon:g})." if release.epsilon else ""
        licence = [
            html.Span(f"Data: {release.attribution.rstrip('.')}. Licence: {release.licence}. "),
            html.Span(
                (
                    f"A cell is published only when at least {release.k} sources make it."
                    if release.k > 1
                    else "Open sensors are public one by one: no threshold applies."
                )
                + f"{epsilon} "
            ),
            html.Span("Map data (c) OpenStreetMap contributors, ODbL."),
        ]
        status = f"{len(hours)} hours, {int(release.frame['suppressed'].sum())} suppressed cell-hours of {len(frame)}."
        return stored, max(len(hours) - 1, 0), max(len(hours) - 1, 0), licence, status

    @app.callback(
        Output("public-map", "figure"), Output("public-series", "figure"), Output("public-hour-label", "children"),
        Input("public-data", "data"), Input("public-hour", "value"),
    )  # fmt: skip
    def draw(stored: dict[str, Any] | None, hour: int) -> tuple[Any, ...]:
        if not stored or not stored["hours"]:
            return figures.empty("Nothing published yet."), figures.empty(""), ""
        label = data.DATASETS[stored["dataset"]]
        bucket = pd.Timestamp(stored["hours"][min(hour, len(stored["hours"]) - 1)])
        frame = frame_of(stored)
        return (
            figures.public_map(frame, stored["geojson"], bucket=bucket, label=label),
            figures.public_series(frame, bucket=bucket, label=label),
            f"{bucket:%Y-%m-%d %H:00} UTC",
        )

    for graph in ("public-map", "public-series"):

        @app.callback(
            Output(f"{graph}-csv", "data"), Input(f"{graph}-csv-button", "n_clicks"),
            State("public-data", "data"), State("public-hour", "value"), prevent_initial_call=True,
        )  # fmt: skip
        def download(_: int, stored: dict[str, Any] | None, hour: int, graph: str = graph) -> Any:
            if not stored:
                return no_update
            frame = frame_of(stored)
            if graph == "public-map" and stored["hours"]:
                frame = frame[frame["bucket"] == pd.Timestamp(stored["hours"][hour])]
            return csv_download(frame, f"public-{stored['dataset']}-{stored['partition']}-{graph.split('-')[1]}.csv")
