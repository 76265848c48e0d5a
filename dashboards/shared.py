"""Layout pieces every board uses: the header that leads back to the site, a figure with its CSV and
PNG export, and a table as a data frame."""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import dcc, html

# PNG export through Plotly's own modebar button (in the browser; no server-side renderer).
GRAPH_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "scale": 2},
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
}


def header(title: str, subtitle: str) -> html.Header:
    return html.Header(
        className="dash-header",
        children=[
            html.A([html.Span(className="brand-mark"), html.Span("CityTwin", className="brand-name")], href="/",
                   className="brand"),
            html.Div([html.H1(title), html.P(subtitle, className="muted")]),
        ],
    )  # fmt: skip


def figure_panel(graph_id: str, title: str, height: int = 420) -> html.Section:
    """A graph with a CSV button (dcc.Download) beside Plotly's PNG button in its modebar."""
    return html.Section(
        className="panel",
        children=[
            html.Div(
                className="panel-bar",
                children=[
                    html.H2(title),
                    html.Button("CSV", id=f"{graph_id}-csv-button", className="button button-small"),
                    dcc.Download(id=f"{graph_id}-csv"),
                ],
            ),
            dcc.Loading(
                dcc.Graph(
                    id=graph_id,
                    config=GRAPH_CONFIG,  # type: ignore[arg-type]
                    style={"height": f"{height}px"},
                )
            ),
        ],
    )


def table(frame: pd.DataFrame, table_id: str) -> html.Table:
    """A plain HTML table of a data frame (numbers rounded as given)."""
    head = html.Thead(html.Tr([html.Th(str(c)) for c in frame.columns]))
    body = html.Tbody(
        [html.Tr([html.Td("" if pd.isna(v) else str(v)) for v in row]) for row in frame.itertuples(index=False)]
    )
    return html.Table([head, body], id=table_id, className="data-table")


def csv_download(frame: pd.DataFrame, filename: str) -> dict[str, Any]:
    return dcc.send_data_frame(frame.to_csv, filename, index=False)
