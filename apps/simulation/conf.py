"""Simulation settings with defaults (override in Django settings or the environment)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings


def _setting(name: str, default: str) -> str:
    if hasattr(settings, name):
        return str(getattr(settings, name))
    return os.environ.get(name) or default


def cache_root() -> Path:
    """Where built SUMO networks live, one folder per hash of the stored road graph. Rebuilding is cheap
    (seconds) but not free, and the demo feed, the sensor command and (next) scenario runs need the same network."""
    return Path(_setting("CITYTWIN_SUMO_CACHE", str(Path(settings.BASE_DIR) / "var" / "sumo")))


def _int(name: str, default: int) -> int:
    return int(_setting(name, str(default)))


def max_seeds() -> int:
    """Seeds (simulations) one run may have."""
    return _int("CITYTWIN_SCENARIO_MAX_SEEDS", 10)


def max_window_s() -> int:
    """The longest simulated window a scenario may ask for."""
    return _int("CITYTWIN_SCENARIO_MAX_WINDOW_S", 24 * 3600)


def max_active_runs_per_user() -> int:
    """Runs (of any number of seeds) one person may have queued or running at once."""
    return _int("CITYTWIN_SCENARIO_RUNS_PER_USER", 2)


def engine() -> str:
    """How a worker runs SUMO: 'libsumo' (in the worker's process; one simulation per process) or 'binary'
    (the sumo command as a child process, driven over TraCI)."""
    value = _setting("CITYTWIN_SUMO_ENGINE", "libsumo")
    if value not in ("libsumo", "binary"):
        raise ValueError(f"CITYTWIN_SUMO_ENGINE must be libsumo or binary, not {value!r}")
    return value


def runs_root() -> Path:
    """Where a run's SUMO inputs and outputs are written while it runs (kept for inspection)."""
    return Path(_setting("CITYTWIN_SCENARIO_RUNS_DIR", str(Path(settings.BASE_DIR) / "var" / "runs")))


# The car fleet when a scenario does not give one: a planning assumption of roughly the passenger car
# stock of a Nordic capital in the mid-2020s (mostly petrol, a quarter diesel, a few percent electric).
# Set the city's own figures with CITYTWIN_FLEET="petrol=0.6,diesel=0.3,electric=0.1".
DEFAULT_FLEET = {"petrol": 0.62, "diesel": 0.30, "electric": 0.08}


def default_fleet() -> dict[str, float]:
    raw = _setting("CITYTWIN_FLEET", "")
    if not raw:
        return dict(DEFAULT_FLEET)
    shares = {k.strip(): float(v) for k, v in (part.split("=", 1) for part in raw.split(",") if part.strip())}
    if set(shares) != set(DEFAULT_FLEET) or abs(sum(shares.values()) - 1.0) > 1e-6:
        raise ValueError(f"CITYTWIN_FLEET must give petrol, diesel and electric shares adding up to 1, not {raw!r}")
    return shares
