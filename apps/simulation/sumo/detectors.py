"""What a simulation measures besides moving vehicles: the SUMO additional file with the fleet, induction
loops (e1) placed on lanes, and edgeData outputs (per-edge traffic or emissions per interval, aggregated
inside SUMO rather than read vehicle by vehicle), plus the lane lengths needed to place loops."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from .demand import Fleet
from .network import SumoNetwork


@dataclass(frozen=True)
class InductionLoop:
    """An e1 detector on one lane. file "NUL": nothing written, the values are read through libsumo."""

    id: str
    lane: str
    pos_m: float
    period_s: float
    file: str = "NUL"


@dataclass(frozen=True)
class EdgeData:
    """An edgeData output: per edge and interval of period_s, the traffic measures (kind None) or the
    emissions (kind "emissions", HBEFA) written to file by SUMO itself."""

    id: str
    file: Path
    period_s: float
    kind: str | None = None
    exclude_empty: bool = False


def lane_lengths(network: SumoNetwork, edges: set[str]) -> dict[str, list[float]]:
    """Lane lengths of the given edges, with sumolib's streaming parser (the whole net is not needed)."""
    import sumolib

    lengths: dict[str, list[float]] = {}
    for lane in sumolib.xml.parse_fast(str(network.net_file), "lane", ["id", "index", "length"]):
        edge = lane.id.rsplit("_", 1)[0]
        if edge in edges:
            lengths.setdefault(edge, []).append(float(lane.length))
    return lengths


def midpoint_loops(
    edge: str, detector_ids: Sequence[str], lengths: Sequence[float], period_s: float
) -> list[InductionLoop]:
    """One loop per lane of an edge, at the middle of the lane: detector_ids[i] sits on lane i."""
    return [
        InductionLoop(detector, f"{edge}_{lane}", lengths[lane] / 2, period_s)
        for lane, detector in enumerate(detector_ids)
    ]


def write_additional(
    path: Path,
    *,
    fleet: Fleet | None = None,
    loops: Sequence[InductionLoop] = (),
    edge_data: Sequence[EdgeData] = (),
) -> Path:
    """Write an additional file (sumo -a) with the fleet's vTypeDistribution, the loops and the edgeData
    outputs; returns its path."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<additional>"]
    if fleet is not None:
        lines.append(f"  <vTypeDistribution id={quoteattr(fleet.id)}>")
        for t in fleet.types:
            lines.append(
                f"    <vType id={quoteattr(t.id)} vClass={quoteattr(t.vclass)}"
                f' emissionClass={quoteattr(t.emission_class)} probability="{t.probability}"/>'
            )
        lines.append("  </vTypeDistribution>")
    for loop in loops:
        lines.append(
            f'  <e1Detector id={quoteattr(loop.id)} lane={quoteattr(loop.lane)} pos="{loop.pos_m:.2f}"'
            f' period="{loop.period_s:g}" file={quoteattr(loop.file)} friendlyPos="true"/>'
        )
    for data in edge_data:
        kind = f" type={quoteattr(data.kind)}" if data.kind else ""
        empty = ' excludeEmpty="true"' if data.exclude_empty else ""
        lines.append(
            f"  <edgeData id={quoteattr(data.id)}{kind} file={quoteattr(str(data.file))}"
            f' period="{data.period_s:g}"{empty}/>'
        )
    lines.append("</additional>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
