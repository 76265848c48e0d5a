"""The city-by-district board (/dash/districts/, operators, planners and admins): hourly traffic, air
quality and energy per district from the telemetry rollups, replayed hour by hour over the last days."""

from __future__ import annotations

from dash import dcc, html

from apps.accounts.models import Role
from dashboards.server import Board, new_dash
from dashboards.shared import figure_panel, header

from . import callbacks, data

TITLE = "City by district"
ROLES = frozenset({Role.OPERATOR, Role.PLANNER, Role.ADMIN})


def layout() -> html.Div:
    return html.Div(
        className="dash-board",
        children=[
            dcc.Location(id="url", refresh=False),
            header(TITLE, f"Hourly sensor rollups per district, the last {data.DAYS} days; press Play to replay them."),
            html.Div(
                className="controls",
                children=[
                    html.Label(
                        [
                            "Measure",
                            dcc.Dropdown(
                                id="measure",
                                value="traffic",
                                clearable=False,
                                options=[
                                    {"label": label, "value": key} for key, (_, label, _) in data.MEASURES.items()
                                ],
                            ),
                        ]
                    ),
                    html.Div(
                        [
                            html.Button("Play", id="play", className="button"),
                            html.Span(id="hour-label", className="muted"),
                        ]
                    ),
                ],
            ),  # fmt: skip
            dcc.Slider(id="hour", min=0, max=0, step=1, value=0, marks=None, updatemode="drag"),
            dcc.Interval(id="tick", interval=800, disabled=True),
            dcc.Store(id="district-data"),
            html.Div(
                className="grid-2",
                children=[
                    figure_panel("district-map", "Per district", 520),
                    figure_panel("district-series", "Over time", 520),
                ],
            ),
        ],
    )


def build() -> Board:
    app = new_dash("districts", TITLE)
    app.layout = layout
    callbacks.register(app)
    return Board(slug="districts", title=TITLE, roles=ROLES, app=app)
