"""Goodness of fit of simulated against observed hourly counts: the GEH statistic per detector-hour, the
squared correlation R2 over them, and the summary the UK DMRB acceptance criterion asks for (GEH < 5 for at
least 85 % of the counts).

R2 here is the squared Pearson correlation of the (observed, simulated) scatter, the figure traffic
calibration reports plot and quote (DMRB, FHWA's Traffic Analysis Toolbox): it measures how well the
simulated counts follow the observed ones along a line; the GEH share measures how close they are."""

from __future__ import annotations

import math
from collections.abc import Iterable

GEH_OK = 5.0  # DMRB: a GEH below 5 is an acceptable fit for an hourly count


def geh(observed: float, simulated: float) -> float:
    """GEH = sqrt(2 (M - C)^2 / (M + C)) with M the simulated and C the observed hourly flow (veh/h).
    Both zero is a perfect fit (0); a negative flow is refused."""
    if observed < 0 or simulated < 0:
        raise ValueError(f"flows cannot be negative (observed {observed}, simulated {simulated})")
    total = observed + simulated
    if total == 0:
        return 0.0
    return math.sqrt(2 * (simulated - observed) ** 2 / total)


def r2(pairs: Iterable[tuple[float, float]]) -> float | None:
    """Squared Pearson correlation of (observed, simulated) pairs; None when undefined (fewer than two
    pairs, or either side constant)."""
    points = list(pairs)
    n = len(points)
    if n < 2:
        return None
    mean_o = sum(o for o, _ in points) / n
    mean_s = sum(s for _, s in points) / n
    cov = sum((o - mean_o) * (s - mean_s) for o, s in points)
    var_o = sum((o - mean_o) ** 2 for o, _ in points)
    var_s = sum((s - mean_s) ** 2 for _, s in points)
    if var_o == 0 or var_s == 0:
        return None
    return cov * cov / (var_o * var_s)


def summary(rows: Iterable[tuple[float, float]]) -> tuple[float | None, float | None, int]:
    """(share of rows with GEH < 5, R2, number of rows) over (observed, simulated) hourly flows; the share
    and R2 are None without rows."""
    points = list(rows)
    if not points:
        return None, None, 0
    good = sum(1 for o, s in points if geh(o, s) < GEH_OK)
    return good / len(points), r2(points), len(points)
