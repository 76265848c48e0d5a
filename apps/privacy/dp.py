"""Optional differential privacy for published sums (OpenDP's Laplace mechanism).

Neighbouring data sets differ by one source (a whole meter or loop over the release). Each source's hourly
value is clamped to [0, U] (clamp_bound) and a source lies in exactly one cell of a partition per hour, so
over a release of H hours the vector of cell sums has L1 sensitivity H * U and the vector of counts H. Each
vector gets Laplace noise for half of conf.epsilon_per_hour() per hour: the release costs
H * epsilon_per_hour, as OpenDP's privacy map of the two measurements says (that is the figure charged).
Rounding the counts, flooring them at k and the sums at 0 are post-processing (no further cost). Which cells
are suppressed is decided on the exact counts before the noise: that pattern is not covered by the DP
guarantee (docs/privacy.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import opendp.prelude as dp

from . import conf
from .services import spend_epsilon

if TYPE_CHECKING:
    from .selectors import PublicRow

dp.enable_features("contrib")  # OpenDP's Laplace constructors are community-vetted ("contrib") features

# Per source and hour, the most a value may add to a sum before noise (larger values are clamped: a bias
# on the few largest buildings, traded for noise that does not drown a district). Most demo buildings draw
# under 50 kW; a loop counts at most ~2,000 vehicles an hour per lane.
CLAMP: dict[str, float] = {"energy_kwh": 50.0, "active_power_kw": 50.0, "vehicle_count": 2000.0}


def clamp_bound(prop: str) -> float:
    return CLAMP.get(prop, 1000.0)


def _laplace(scale: float) -> dp.Measurement:
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float)
    return dp.m.make_laplace(*space, scale=scale)


def noisy_release(
    *, dataset: str, measure: str, rows: list[PublicRow], hours: int, k: int, query: str
) -> tuple[list[PublicRow], float]:
    """The rows with Laplace noise on the published values and counts, and the epsilon charged (refused
    with PrivacyBudgetExhausted, before anything is released, when the budget cannot pay)."""
    if hours <= 0:
        return rows, 0.0
    half = conf.epsilon_per_hour() / 2
    bound = clamp_bound(measure)
    values, counts = _laplace(bound / half), _laplace(1.0 / half)
    epsilon = float(values.map(hours * bound)) + float(counts.map(float(hours)))
    spend_epsilon(dataset=dataset, epsilon=epsilon, query=query)
    shown = [r for r in rows if not r.suppressed]
    if not shown:
        return rows, epsilon
    noisy_values = values([float(r.value or 0.0) for r in shown])
    noisy_counts = counts([float(r.n_sources or 0) for r in shown])
    noisy = {
        id(r): replace(r, value=max(v, 0.0), n_sources=max(round(c), k))
        for r, v, c in zip(shown, noisy_values, noisy_counts, strict=True)
    }
    return [noisy.get(id(r), r) for r in rows], epsilon
