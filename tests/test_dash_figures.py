"""The boards' figures and pure data helpers: a data frame in, traces, colours and values out. No
database, no server: the functions under test take frames built here."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from dashboards.compare import figures as compare
from dashboards.compare.data import combined_ci, kpi_deltas, segments_frame
from dashboards.districts import figures as districts
from dashboards.figures import DIVERGING, MAP_STYLE, SUPPRESSED_GREY
from dashboards.public import figures as public
from dashboards.public.data import release_frame

LINE = [[24.94, 60.17], [24.95, 60.171]]


def _segments(changes: list[tuple[str, float, float]]) -> pd.DataFrame:
    """(name, flow in B, flow in A) per segment, as data.segments_frame makes them."""
    rows = []
    for i, (name, b, a) in enumerate(changes):
        coords = [[[p[0] + i * 0.001, p[1]] for p in LINE]]
        rows.append({"segment": 100 + i, "name": name, "coords": coords, "flow_a": a, "flow_b": b,
                     "flow_diff": a - b, "flow_pct": 100 * (a - b) / b if b else None,
                     "speed_diff": None, "speed_pct": None})  # fmt: skip
    return pd.DataFrame(rows)


# --- comparison ------------------------------------------------------------------------------------------


def test_the_delta_interval_combines_both_runs_intervals() -> None:
    a = {"mean_travel_time_s": {"mean": 130.0, "ci95": 3.0}, "vehicle_km": {"mean": 900.0, "ci95": None}}
    b = {"mean_travel_time_s": {"mean": 120.0, "ci95": 4.0}, "vehicle_km": {"mean": 1000.0, "ci95": 10.0},
         "co2_kg": {"mean": 5.0, "ci95": 0.1}}  # fmt: skip
    frame = kpi_deltas(a, b).set_index("kpi")
    assert list(frame.index) == ["mean_travel_time_s", "vehicle_km"]  # only KPIs both runs have
    assert frame.loc["mean_travel_time_s", "delta"] == 10.0
    assert frame.loc["mean_travel_time_s", "ci95"] == pytest.approx(5.0)  # sqrt(3² + 4²)
    assert frame.loc["vehicle_km", "delta_pct"] == pytest.approx(-10.0)
    assert pd.isna(frame.loc["vehicle_km", "ci95"])  # one side without an interval: none for the delta
    assert combined_ci(None, 1.0) is None


def test_segments_frame_reads_lines_and_multilines() -> None:
    geojson = (
        '{"type":"FeatureCollection","features":['
        '{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1,2],[3,4]]},'
        '"properties":{"segment":1,"name":"A","flow_veh_h":10,"flow_base":0,"flow_diff":10,"flow_pct":null,'
        '"speed_diff":null,"speed_pct":null}},'
        '{"type":"Feature","geometry":{"type":"MultiLineString","coordinates":[[[1,2],[3,4]],[[5,6],[7,8]]]},'
        '"properties":{"segment":2,"name":null,"flow_veh_h":5,"flow_base":10,"flow_diff":-5,"flow_pct":-50,'
        '"speed_diff":1.5,"speed_pct":3}}]}'
    )
    frame = segments_frame(geojson)
    assert frame["coords"].tolist() == [[[[1, 2], [3, 4]]], [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]]
    assert frame["name"].tolist() == ["A", ""] and pd.isna(frame.loc[0, "flow_pct"])
    assert frame.loc[1, "flow_pct"] == -50


def test_the_difference_map_diverges_and_draws_small_changes_thin() -> None:
    frame = _segments([("Big loss", 400, 0), ("Small", 100, 102), ("Gain", 100, 180), ("New", 0, 30)])
    figure = compare.difference_map(frame, "abs")
    traces = {t.name: t for t in figure.data}
    assert all(t.type == "scattermap" and t.mode == "lines" for t in figure.data)
    assert figure.layout.map.style == MAP_STYLE  # no tiles, no network
    assert "OpenStreetMap contributors" in figure.layout.annotations[0].text
    loss = next(t for name, t in traces.items() if name.startswith("−50+"))
    gain = next(t for name, t in traces.items() if name.startswith("+50+"))
    small = next(t for name, t in traces.items() if name.startswith("|change|"))
    assert loss.line.color == DIVERGING[0] and gain.line.color == DIVERGING[-1]  # blue less, red more
    assert small.line.color == DIVERGING[3] and small.line.width < gain.line.width
    assert "Big loss (segment 100): -400.0 veh/h" in loss.text
    middle = next(t for name, t in traces.items() if name.startswith("+5–50"))
    assert "New (segment 103): +30.0 veh/h" in middle.text  # 30 veh/h more: the middle class
    # percent: a segment without traffic in B has no percent and is said to be left out
    percent = compare.difference_map(frame, "pct")
    assert "1 segments without traffic in B not shown" in percent.layout.title.text
    assert not any("New" in str(t.text) for t in percent.data)
    assert any(name.endswith("%") and name.startswith("+25+") for name in (t.name for t in percent.data))


def test_change_classes_are_symmetric() -> None:
    classes = compare.ABS_CLASSES
    assert [compare.change_class(v, classes) for v in (-100, -10, -1, 0, 1, 10, 100)] == [-2, -1, 0, 0, 0, 1, 2]


def test_kpi_figure_shows_percent_deltas_with_interval_bars() -> None:
    frame = kpi_deltas(
        {"mean_travel_time_s": {"mean": 110.0, "ci95": 3.0}, "co2_kg": {"mean": 9.0, "ci95": 0.3}},
        {"mean_travel_time_s": {"mean": 100.0, "ci95": 4.0}, "co2_kg": {"mean": 10.0, "ci95": 0.4}},
    )
    bar = compare.kpi_figure(frame).data[0]
    assert list(bar.y) == ["Mean travel time", "CO₂"]
    assert list(bar.x) == pytest.approx([10.0, -10.0])
    assert list(bar.error_x.array) == pytest.approx([5.0, 5.0])  # 5 s of 100 s; 0.5 kg of 10 kg
    assert list(bar.marker.color) == [DIVERGING[5], DIVERGING[1]]


def test_time_series_has_one_line_per_run_on_clock_time() -> None:
    series = pd.DataFrame(
        [{"run": r, "interval_begin": 25200 + 300 * i, "entered": 10 * i + (5 if r == "A" else 0)}
         for r in ("A", "B") for i in range(3)]
    )  # fmt: skip
    figure = compare.time_series(series, "entered", "vehicles", "Vehicles")
    assert [t.name for t in figure.data] == ["run A", "run B"]
    assert list(figure.data[0].x) == ["07:00", "07:05", "07:10"] and list(figure.data[0].y) == [5, 15, 25]


def test_top_streets_rank_by_their_most_changed_segment() -> None:
    # a long road with one closed segment among many unchanged ones, a side street that tripled, an unnamed one
    frame = _segments([("Long road", 300, 0), *[("Long road", 500, 500)] * 9, ("Side street", 10, 30), ("", 50, 60)])
    by_abs = compare.top_streets(frame, "abs")
    assert by_abs["street"].tolist() == ["Long road", "Side street", "segment 111"]
    long_road = by_abs.iloc[0]
    assert long_road["change_veh_h"] == -300 and long_road["change_pct"] == -100 and long_road["segments"] == 10
    assert long_road["peak_segment"] == 100 and long_road["mean_change_veh_h"] == -30
    by_pct = compare.top_streets(frame, "pct")
    assert by_pct["street"].tolist()[:2] == ["Side street", "Long road"] and by_pct.iloc[0]["change_pct"] == 200
    many = _segments([(f"Street {i}", 100, 100 + i) for i in range(30)])
    assert (
        len(compare.top_streets(many, "abs")) == 20
        and compare.top_streets(many, "abs").iloc[0]["street"] == "Street 29"
    )


# --- by district, public ---------------------------------------------------------------------------------

GEO = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"cell": str(c), "name": f"D{c}"},
         "geometry": {"type": "Polygon", "coordinates": [[[24.9 + c / 100, 60.1], [24.91 + c / 100, 60.1],
                                                          [24.91 + c / 100, 60.11], [24.9 + c / 100, 60.1]]]}}
        for c in (1, 2, 3)
    ],
}  # fmt: skip
T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)


def _hourly(values: dict[tuple[int, int], float | None], measure: str = "traffic") -> pd.DataFrame:
    """{(cell, hour): value or None (suppressed)}"""
    return pd.DataFrame(
        [{"measure": measure, "cell": str(c), "name": f"D{c}", "bucket": pd.Timestamp(T0 + timedelta(hours=h)),
          "value": v, "unit": "veh/h", "suppressed": v is None} for (c, h), v in values.items()]
    )  # fmt: skip


def test_district_map_keeps_one_colour_scale_over_the_replay() -> None:
    frame = _hourly({(1, 0): 10, (2, 0): 20, (1, 1): 50, (2, 1): 5})
    figure = districts.district_map(
        frame, GEO, measure="traffic", bucket=pd.Timestamp(T0), label="Traffic", unit="veh/h"
    )
    trace = figure.data[0]
    assert trace.type == "choroplethmap" and list(trace.locations) == ["1", "2"] and list(trace.z) == [10, 20]
    assert (trace.zmin, trace.zmax) == (5, 50)  # the whole period's range, not this hour's
    assert trace.featureidkey == "properties.cell"
    assert "2026-11-23 08:00" in figure.layout.title.text
    series = districts.district_series(frame, measure="traffic", bucket=pd.Timestamp(T0), label="Traffic", unit="veh/h")
    assert sorted(t.name for t in series.data) == ["D1", "D2"]
    assert districts.district_map(frame, GEO, measure="energy", bucket=pd.Timestamp(T0), label="Energy",
                                  unit="kWh").data == ()  # fmt: skip


def test_public_map_greys_suppressed_cells_and_never_shows_their_value() -> None:
    rows = [
        {
            "cell": "1",
            "cell_name": "D1",
            "bucket": T0,
            "value": 120.0,
            "unit": "kWh",
            "n_sources": 12,
            "suppressed": False,
        },
        {
            "cell": "2",
            "cell_name": "D2",
            "bucket": T0,
            "value": 99.0,
            "unit": "kWh",
            "n_sources": None,
            "suppressed": True,
        },
        {
            "cell": "3",
            "cell_name": "D3",
            "bucket": T0,
            "value": None,
            "unit": "kWh",
            "n_sources": None,
            "suppressed": True,
        },
    ]  # a suppressed row's value is dropped even if a release carried one
    frame = release_frame(rows)
    assert frame["value"].isna().tolist() == [False, True, True]
    figure = public.public_map(frame, GEO, bucket=pd.Timestamp(T0), label="Energy use")
    shown, grey = figure.data
    assert list(shown.locations) == ["1"] and list(shown.z) == [120.0]
    assert list(grey.locations) == ["2", "3"] and set(grey.z) == {0}
    assert grey.colorscale[0][1] == SUPPRESSED_GREY and grey.colorscale[-1][1] == SUPPRESSED_GREY
    assert "suppressed" in grey.name and "99" not in str(grey.hovertemplate)
    assert "(2 cells suppressed)" in figure.layout.title.text
    series = public.public_series(frame, bucket=pd.Timestamp(T0), label="Energy use")
    values = {t.name: list(t.y) for t in series.data}
    assert values["D1"] == [120.0] and all(math.isnan(v) for v in values["D2"])


def test_release_frame_reads_the_privacy_modules_rows() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class PublicRow:  # the privacy module's contract (apps/privacy/selectors.py)
        cell: str
        cell_name: str
        bucket: datetime
        value: float | None
        unit: str
        n_sources: int | None
        suppressed: bool

    frame = release_frame([PublicRow("8a1", "8a1", T0, 3.5, "µg/m³", 4, False)])
    assert frame.iloc[0][["cell", "name", "value", "n_sources"]].tolist() == ["8a1", "8a1", 3.5, 4]
    assert frame.iloc[0]["bucket"] == pd.Timestamp(T0)
