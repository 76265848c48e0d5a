"""The substations as a pandapower network, and the loading of their transformers over a day (pure: no ORM).

The network: an external grid (the 110/20 kV primary substation, 1.0 pu) on a 20 kV bus; per substation a
20 kV bus, a 0.4 kV bus and a 20/0.4 kV transformer of its capacity, with the parameters of pandapower's
standard type of that size ("0.25/0.4/0.63 MVA 20/0.4 kV": vk 6 %, vkr 1.2-1.4 %), or for other sizes the
630 kVA type's relative values (vk 6 %, vkr 1.206 %, no-load losses and current scaled with the rating).
MV lines from grid.lines are DEFAULT_CABLE (NA2XS2Y 1x185 RM/25 12/20 kV); a substation without a line is fed
from the 20 kV bus by FEED_LENGTH_KM of the same cable. Loads sit on the 0.4 kV buses at the power factor
given (inductive).

Time series: one runpp per interval, each started from a DC power flow, the loads updated in place. Measured
on the demo city (96 substations x 96 intervals, no numba): ~5 s. pandapower.timeseries (ConstControl/DFData)
took 1.1-2.6 s but starts each step from the previous step's voltages: after a heavily overloaded step it gave
the next one 669 % where a fresh start gives 51 %. Correct beats fast here. An interval whose power flow does not converge gives NaN for every substation in it (and a
log warning): the caller shows a gap, the run goes on."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandapower as pp

from .grid import GridModel

log = logging.getLogger(__name__)

MV_KV = 20.0
LV_KV = 0.4
DEFAULT_CABLE = "NA2XS2Y 1x185 RM/25 12/20 kV"
FEED_LENGTH_KM = 0.5
_STD_TRAFOS = {250.0: "0.25 MVA 20/0.4 kV", 400.0: "0.4 MVA 20/0.4 kV", 630.0: "0.63 MVA 20/0.4 kV"}
_REFERENCE = {"vk_percent": 6.0, "vkr_percent": 1.206, "pfe_kw_per_kva": 1.65 / 630.0, "i0_percent": 0.2619}


def _transformer(net: pp.pandapowerNet, hv: int, lv: int, capacity_kva: float, name: str) -> int:
    std = _STD_TRAFOS.get(round(capacity_kva, 3))
    if std is not None:
        return int(pp.create_transformer(net, hv, lv, std_type=std, name=name))
    return int(
        pp.create_transformer_from_parameters(
            net,
            hv,
            lv,
            sn_mva=capacity_kva / 1000.0,
            vn_hv_kv=MV_KV,
            vn_lv_kv=LV_KV,
            vk_percent=_REFERENCE["vk_percent"],
            vkr_percent=_REFERENCE["vkr_percent"],
            pfe_kw=_REFERENCE["pfe_kw_per_kva"] * capacity_kva,
            i0_percent=_REFERENCE["i0_percent"],
            name=name,
        )
    )


def build_net(grid: GridModel) -> pp.pandapowerNet:
    """The network of the grid model (see the module docstring); buses, transformers and loads are named by
    substation key, the loads at 0 MW."""
    net = pp.create_empty_network(name="citytwin")
    source = pp.create_bus(net, vn_kv=MV_KV, name="source")
    pp.create_ext_grid(net, source, vm_pu=1.0, name="primary substation")
    mv: dict[str, int] = {}
    for s in grid.substations:
        mv[s.key] = int(pp.create_bus(net, vn_kv=MV_KV, name=f"{s.key} MV"))
        lv = int(pp.create_bus(net, vn_kv=LV_KV, name=f"{s.key} LV"))
        _transformer(net, mv[s.key], lv, s.capacity_kva, s.key)
        pp.create_load(net, lv, p_mw=0.0, q_mvar=0.0, name=s.key)
    for a, b, length_m in grid.lines:
        pp.create_line(
            net, mv[a], mv[b], length_km=max(length_m, 1.0) / 1000.0, std_type=DEFAULT_CABLE, name=f"{a}-{b}"
        )
    # Every group of linked substations, and every lone one, is fed from the source once: the first
    # substation (in key order) of a group. Lines within a group only carry what the power flow sends.
    for group in _groups([s.key for s in grid.substations], grid.lines):
        pp.create_line(
            net, source, mv[group[0]], length_km=FEED_LENGTH_KM, std_type=DEFAULT_CABLE, name=f"feed {group[0]}"
        )
    return net


def _groups(keys: Sequence[str], lines: Sequence[tuple[str, str, float]]) -> list[list[str]]:
    parent = {k: k for k in keys}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, b, _ in lines:
        parent[find(a)] = find(b)
    groups: dict[str, list[str]] = {}
    for k in keys:
        groups.setdefault(find(k), []).append(k)
    return list(groups.values())


def loading_series(
    grid: GridModel, loads_kw: Mapping[str, Sequence[float]], *, power_factor: float = 0.95
) -> dict[str, np.ndarray]:
    """Transformer loading (%) per substation per interval; NaN where the power flow did not converge."""
    keys = [s.key for s in grid.substations]
    steps = max((len(v) for v in loads_kw.values()), default=0)
    out = {k: np.full(steps, np.nan) for k in keys}
    if not keys or steps == 0:
        return out
    net = build_net(grid)
    p = np.zeros((steps, len(keys)))
    for j, key in enumerate(keys):
        values = np.asarray(loads_kw.get(key, ()), dtype=float)
        p[: len(values), j] = values / 1000.0
    q = p * math.tan(math.acos(power_factor))
    loads = net.load.index.to_numpy()  # created in substation order, as the transformers
    trafos = net.trafo.index.to_numpy()
    failed = []
    for t in range(steps):
        net.load.loc[loads, "p_mw"] = p[t]
        net.load.loc[loads, "q_mvar"] = q[t]
        try:
            # A fresh (DC) start every step: starting from a collapsed step's voltages can land on the
            # low-voltage solution of the next.
            pp.runpp(net, init="dc", numba=False)
        except pp.LoadflowNotConverged:
            failed.append(t)
            continue
        loading = net.res_trafo.loc[trafos, "loading_percent"].to_numpy(dtype=float)
        for j, key in enumerate(keys):
            out[key][t] = loading[j]
    if failed:
        log.warning("power flow did not converge in intervals %s; their loadings are NaN", failed)
    return out
