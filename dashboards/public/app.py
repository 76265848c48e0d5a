"""The public board (/dash/public/, everyone, anonymous included): the city's traffic, air quality and
energy use per district or H3 hexagon, hourly, as the privacy module releases them (suppressed cells
grey), with the release's licence and attribution."""

from __future__ import annotations

from dash import dcc, html

from dashboards.server import Board, new_dash
from dashboards.shared import figure_panel, header

from . import callbacks, data

TITLE = "The city, in public"


def layout() -> html.Div:
    return html.Div(
        className="dash-board",
        children=[
            dcc.Location(id="url", refresh=False),
            header(TITLE, "Hourly figures per district or hexagon. Cells with too few sources are suppressed (grey)."),
            html.Div(
                className="controls",
                children=[
                    html.Label(
                        [
                            "Dataset",
                            dcc.Dropdown(
                                id="dataset",
                                value="traffic",
                                clearable=False,
                                options=[{"label": v, "value": k} for k, v in data.DATASETS.items()],
                            ),
                        ]
                    ),
                    html.Label(
                        [
                            "Areas",
                            dcc.RadioItems(
                                id="partition",
                                value="district",
                                inline=True,
                                options=[{"label": v, "value": k} for k, v in data.PARTITIONS.items()],
                            ),
                        ]
                    ),
                    html.Span(id="public-hour-label", className="muted"),
                ],
            ),  # fmt: skip
            dcc.Slider(id="public-hour", min=0, max=0, step=1, value=0, marks=None, updatemode="drag"),
            dcc.Store(id="public-data"),
            html.P(id="public-status", className="muted", role="status"),
            html.Div(
                className="grid-2",
                children=[figure_panel("public-map", "Per area", 520), figure_panel("public-series", "Over time", 520)],
            ),
            html.Footer(id="licence", className="licence"),
        ],
    )


def build() -> Board:
    app = new_dash("public", TITLE)
    app.layout = layout
    callbacks.register(app)
    return Board(slug="public", title=TITLE, roles=None, app=app)
