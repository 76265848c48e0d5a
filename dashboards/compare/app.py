"""The scenario comparison board (/dash/compare/, planners and admins): any two finished runs side by
side. Its state lives in the URL (?a=RUN&b=RUN&interval=SECONDS&mode=abs|pct), so a comparison can be shared."""

from __future__ import annotations

from dash import dcc, html

from apps.simulation.selectors import PLANNING_ROLES
from dashboards.server import Board, new_dash, request_user
from dashboards.shared import figure_panel, header

from . import callbacks, data

TITLE = "Scenario comparison"


def layout() -> html.Div:
    """Built per page load: the run lists are the user's."""
    options = data.run_options(request_user())
    return html.Div(
        className="dash-board",
        children=[
            dcc.Location(id="url", refresh=False),
            header(TITLE, "Run A against run B: what changed, the KPIs with their 95 % intervals, and where."),
            html.Div(
                className="controls",
                children=[
                    html.Label(["Run A (the scenario)", dcc.Dropdown(id="run-a", options=options, clearable=False)]),
                    html.Label(["Run B (compared against)", dcc.Dropdown(id="run-b", options=options, clearable=False)]),
                    html.Label(["Map period", dcc.Dropdown(id="interval", options=[], placeholder="whole window")]),
                    html.Label(
                        [
                            "Map shows",
                            dcc.RadioItems(
                                id="mode", value="abs", inline=True,
                                options=[{"label": "absolute (veh/h)", "value": "abs"},
                                         {"label": "percent of B", "value": "pct"}],
                            ),
                        ]
                    ),
                ],
            ),  # fmt: skip
            html.P(id="status", className="muted", role="status"),
            dcc.Store(id="comparison"),
            html.Div(
                className="changes",
                children=[
                    html.Section([html.H2("Run A’s edits"), html.Ul(id="changes-a")], className="panel"),
                    html.Section([html.H2("Run B’s edits"), html.Ul(id="changes-b")], className="panel"),
                    html.Section([html.H2("From B to A"), html.Ul(id="changes-between")], className="panel"),
                ],
            ),
            html.Section(
                className="panel",
                children=[
                    html.Div(
                        className="panel-bar",
                        children=[
                            html.H2("KPIs: A − B with the 95 % interval across seeds"),
                            html.Button("CSV", id="kpis-csv-button", className="button button-small"),
                            dcc.Download(id="kpis-csv"),
                        ],
                    ),
                    html.Div(id="kpi-cards", className="kpi-cards"),
                    html.P(
                        "The interval of a difference combines the two runs' intervals as √(a² + b²) (independent "
                        "seeds). A delta whose interval includes 0 is not distinguishable from noise.",
                        className="muted",
                    ),
                ],
            ),
            html.Div(
                className="grid-2",
                children=[figure_panel("diff-map", "Per-segment difference", 560), figure_panel("kpi-chart", "KPI change")],
            ),
            html.Div(
                className="grid-2",
                children=[
                    figure_panel("series-flow", "Vehicles entering segments per interval", 320),
                    figure_panel("series-co2", "CO₂ per interval", 320),
                ],
            ),
            html.Section(
                className="panel",
                children=[
                    html.Div(
                        className="panel-bar",
                        children=[
                            html.H2("The 20 most affected streets"),
                            html.Button("CSV", id="top-csv-button", className="button button-small"),
                            dcc.Download(id="top-csv"),
                        ],
                    ),
                    html.Div(id="top-streets"),
                ],
            ),
            html.Section(
                className="panel",
                children=[
                    html.H2("Publish this comparison"),
                    html.P("The public portal will show its title, what changed and the city-wide KPIs.", className="muted"),
                    dcc.Input(id="publish-title", type="text", placeholder="Title for the public", maxLength=200),
                    html.Button("Publish", id="publish", className="button"),
                    html.P(id="publish-result", role="status"),
                ],
            ),
        ],
    )  # fmt: skip


def build() -> Board:
    app = new_dash("compare", TITLE)
    app.layout = layout
    callbacks.register(app)
    return Board(slug="compare", title=TITLE, roles=frozenset(PLANNING_ROLES), app=app)
