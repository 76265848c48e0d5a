"""Where SUMO is: the eclipse-sumo wheel's binaries and Python tools (`import sumo` sets SUMO_HOME), else
the binaries on PATH. Everything that starts a SUMO program asks here, so one installation is used."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def sumo_home() -> str:
    """SUMO_HOME of the eclipse-sumo wheel."""
    import sumo

    return str(sumo.SUMO_HOME)


def binary(name: str) -> str:
    """A SUMO program (netconvert, sumo, duarouter) from the wheel, else from PATH. The wheel's own binary,
    not the console-script wrapper in the venv's bin: a signal sent to the wrapper kills the wrapper and
    leaves SUMO's outputs unfinished, while SUMO itself closes them on SIGTERM/SIGINT."""
    candidate = Path(sumo_home()) / "bin" / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install eclipse-sumo")
    return found


def tool(name: str) -> str:
    """A script of SUMO's Python tools (randomTrips.py, routeSampler.py)."""
    return os.path.join(sumo_home(), "tools", name)


def environment() -> dict[str, str]:
    """The environment for SUMO programs and tools: SUMO_HOME set (tools and XML validation look for it)
    and the wheel's binaries first on PATH (randomTrips calls duarouter by name)."""
    home = sumo_home()
    bin_dir = str(Path(home) / "bin")
    return {**os.environ, "SUMO_HOME": home, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
