"""The comparison board's data: two finished runs the planner may see, what changed between them, their
KPIs with the delta's 95 % interval, the per-segment differences and each run's time series. Calls the
simulation selectors (and publish_comparison, the board's one write) only; the callbacks call this."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from apps.simulation.selectors import describe_changes, difference_geojson, finished_runs_visible_to, interval_totals

# The KPI cards: run KPI name -> label and unit. Lower is better for all of them.
KPIS: dict[str, tuple[str, str]] = {
    "mean_travel_time_s": ("Mean travel time", "s"),
    "mean_time_loss_s": ("Mean time loss", "s"),
    "vehicle_km": ("Vehicle-km", "km"),
    "co2_kg": ("CO₂", "kg"),
    "nox_g": ("NOx", "g"),
    "pmx_g": ("PMx", "g"),
    "electricity_kwh": ("EV electricity", "kWh"),
    "peak_substation_loading_pct": ("Peak substation loading", "%"),
}


@dataclass(frozen=True)
class Comparison:
    a: dict[str, Any]  # {"id", "label", "changes": [...]}
    b: dict[str, Any]
    between: list[str]  # what changed from B to A, in words
    kpis: pd.DataFrame  # kpi, label, unit, a, b, delta, delta_pct, ci95
    segments: pd.DataFrame  # segment, name, coords, flow_a, flow_b, flow_diff, flow_pct, speed_diff, speed_pct
    series: pd.DataFrame  # run, interval_begin, entered, speed_kmh, co2_kg, electricity_kwh
    intervals: list[int]


def run_options(user: Any) -> list[dict[str, Any]]:
    """The finished runs the user may compare, newest first, as dropdown options."""
    runs = finished_runs_visible_to(user)[:200]
    return [{"label": run_label(r), "value": r.pk} for r in runs]


def run_label(run: Any) -> str:
    return f"#{run.pk} {run.scenario.name} (v{run.scenario.version}, {len(run.document.get('seeds', []))} seeds)"


def combined_ci(a: float | None, b: float | None) -> float | None:
    """The half-width of the 95 % interval of a difference of two independent means: sqrt(a² + b²)."""
    if a is None or b is None:
        return None
    return math.hypot(a, b)


def kpi_deltas(a: dict[str, Any], b: dict[str, Any]) -> pd.DataFrame:
    """One row per KPI both runs have: means, A - B, the delta in percent of B, and its 95 % interval."""
    rows = []
    for name, (label, unit) in KPIS.items():
        if name not in a or name not in b:
            continue
        mean_a, mean_b = float(a[name]["mean"]), float(b[name]["mean"])
        delta = mean_a - mean_b
        rows.append(
            {
                "kpi": name, "label": label, "unit": unit, "a": mean_a, "b": mean_b, "delta": delta,
                "delta_pct": 100 * delta / mean_b if mean_b else None,
                "ci95": combined_ci(a[name].get("ci95"), b[name].get("ci95")),
            }
        )  # fmt: skip
    return pd.DataFrame(rows, columns=["kpi", "label", "unit", "a", "b", "delta", "delta_pct", "ci95"])


def segments_frame(geojson: str) -> pd.DataFrame:
    """difference_geojson's features as rows; coords is a list of lines, each a list of [lon, lat]."""
    rows = []
    for feature in json.loads(geojson)["features"]:
        p, geometry = feature["properties"], feature["geometry"]
        lines = [geometry["coordinates"]] if geometry["type"] == "LineString" else geometry["coordinates"]
        rows.append(
            {
                "segment": p["segment"], "name": p["name"] or "", "coords": lines,
                "flow_a": p["flow_veh_h"], "flow_b": p["flow_base"], "flow_diff": p["flow_diff"],
                "flow_pct": p["flow_pct"], "speed_diff": p["speed_diff"], "speed_pct": p["speed_pct"],
            }
        )  # fmt: skip
    columns = ["segment", "name", "coords", "flow_a", "flow_b", "flow_diff", "flow_pct", "speed_diff", "speed_pct"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in columns[3:]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def comparison(user: Any, a_id: int, b_id: int, *, interval: int | None) -> Comparison | None:
    """Everything the board shows of run A against run B (None when either is not a finished run the user
    may see, or both are the same run). The map's figures are of one interval, or the whole window."""
    runs = {r.pk: r for r in finished_runs_visible_to(user, [a_id, b_id])}
    if a_id == b_id or a_id not in runs or b_id not in runs:
        return None
    a, b = runs[a_id], runs[b_id]
    series = pd.DataFrame(
        [{"run": label, **row} for label, run in (("A", a), ("B", b)) for row in interval_totals(run)],
        columns=["run", "interval_begin", "interval_end", "entered", "speed_kmh", "co2_kg", "electricity_kwh"],
    )
    intervals = sorted(set(series["interval_begin"].astype(int))) if len(series) else []
    if interval is not None and interval not in intervals:
        interval = None
    return Comparison(
        a={"id": a.pk, "label": run_label(a), "changes": describe_changes(a.document, None)},
        b={"id": b.pk, "label": run_label(b), "changes": describe_changes(b.document, None)},
        between=describe_changes(a.document, b.document),
        kpis=kpi_deltas(a.kpis, b.kpis),
        segments=segments_frame(difference_geojson(a, b, interval=interval, bbox=None)),
        series=series,
        intervals=intervals,
    )


def publish(user: Any, a_id: int, b_id: int, *, title: str) -> str:
    """Show the comparison to the public (apps.simulation.services.publish_comparison); a sentence saying
    what happened."""
    from apps.core.exceptions import DomainError
    from apps.simulation.services import publish_comparison

    runs = {r.pk: r for r in finished_runs_visible_to(user, [a_id, b_id])}
    if a_id not in runs or b_id not in runs:
        return "Pick two runs first."
    if not title.strip():
        return "Give the comparison a title for the public."
    try:
        published = publish_comparison(run=runs[a_id], against=runs[b_id], title=title.strip(), user=user)
    except DomainError as exc:
        return f"Not published: {exc.message}"
    return f"Published as “{published.title}” (#{published.pk}): the public portal lists it."
