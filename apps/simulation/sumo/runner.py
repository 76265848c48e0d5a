"""Starting and stepping a SUMO simulation, with a progress callback `(sim_time_s, end_s) -> None` and a
cancel check `() -> bool` that stops it cleanly (SUMO closes its outputs either way).

Two ways to run the same SimulationSpec:
- libsumo, in this process: no process start-up and no socket. libsumo allows ONE simulation per process,
  so this is for a process of its own (a worker's child with one task at a time, the demo feed's
  process, a command); a second concurrent start here raises SimulationBusy instead of clobbering the first.
  `libsumo_session()` opens it for callers that step themselves (the demo feed); `run_libsumo()` runs it
  to the end, advancing SUMO a whole reporting period per call.
- the sumo binary, as a child process (`run_binary()`): any process may run any number of these; progress
  comes from SUMO's step log, cancel sends SIGTERM, on which SUMO finishes the step and closes its outputs.

Neither makes TraCI calls per vehicle (10x slower, /work/shared/NOTES.md): measures come from detectors
and edgeData outputs (detectors.py)."""

from __future__ import annotations

import logging
import os
import queue
import re
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .install import binary, environment

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float, float], None]
"""progress(sim_time_s, end_s): called every reporting period of simulated time and at the end."""

CancelCheck = Callable[[], bool]
"""cancelled(): True stops the simulation cleanly at the next check."""

DEFAULT_REPORT_EVERY_S = 60.0  # simulated seconds between progress reports and cancel checks
CANCEL_POLL_WALL_S = 0.5  # the binary: how often (wall clock) the cancel check runs while SUMO works
TERMINATE_GRACE_S = 30.0  # the binary: how long SUMO may take to close its outputs after SIGTERM


class SumoError(RuntimeError):
    """SUMO refused the inputs or failed while running; the message is SUMO's own (its last lines)."""


class SimulationBusy(SumoError):
    """This process already runs a libsumo simulation (libsumo allows one per process)."""


@dataclass(frozen=True)
class SimulationSpec:
    """What to simulate: the inputs and options of one SUMO run, the same for libsumo and the binary."""

    net_file: Path
    route_files: tuple[Path, ...] = ()
    additional_files: tuple[Path, ...] = ()
    begin_s: float = 0.0
    end_s: float | None = None  # None: until the caller stops stepping (libsumo_session only)
    step_length_s: float = 1.0
    seed: int = 42
    # Further sumo options, e.g. ("--statistic-output", "stats.xml"); SUMO refuses an option given twice,
    # so none of those set above.
    options: tuple[str, ...] = ()

    def arguments(self) -> list[str]:
        """The sumo command line after the program name."""
        args = ["-n", str(self.net_file)]
        if self.route_files:
            args += ["-r", ",".join(str(p) for p in self.route_files)]
        if self.additional_files:
            args += ["-a", ",".join(str(p) for p in self.additional_files)]
        args += ["--begin", f"{self.begin_s:g}"]
        if self.end_s is not None:
            args += ["--end", f"{self.end_s:g}"]
        args += ["--step-length", f"{self.step_length_s:g}", "--seed", str(self.seed)]
        return args + list(self.options)

    def required_end(self) -> float:
        if self.end_s is None:
            raise ValueError("a run to the end needs end_s")
        if self.end_s <= self.begin_s:
            raise ValueError(f"end_s ({self.end_s:g}) must be after begin_s ({self.begin_s:g})")
        return self.end_s


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: the simulated time reached, whether it was cancelled, and the wall time taken."""

    sim_time_s: float
    cancelled: bool
    wall_seconds: float


_libsumo_lock = threading.Lock()


@contextmanager
def libsumo_session(spec: SimulationSpec) -> Iterator[ModuleType]:
    """Start libsumo on the spec and yield the libsumo module for stepping; closed on leaving, also on
    errors and cancellation, so the process can run its next simulation."""
    if not _libsumo_lock.acquire(blocking=False):
        raise SimulationBusy("this process already runs a libsumo simulation (one per process)")
    try:
        import libsumo

        try:
            quiet = [] if "--no-step-log" in spec.options else ["--no-step-log"]
            libsumo.start(["sumo", *spec.arguments(), *quiet])
        except libsumo.TraCIException as exc:
            raise SumoError(f"SUMO refused to start: {exc}") from exc
        try:
            yield libsumo
        finally:
            libsumo.close()
    finally:
        _libsumo_lock.release()


def run_libsumo(
    spec: SimulationSpec,
    *,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
    report_every_s: float = DEFAULT_REPORT_EVERY_S,
) -> RunOutcome:
    """Run the spec to its end in this process. SUMO advances a whole reporting period per call (its own
    loop in C++), then progress is reported and the cancel check runs."""
    end = spec.required_end()
    if report_every_s <= 0:
        raise ValueError("report_every_s must be positive")
    started = time.monotonic()
    stopped = False
    with libsumo_session(spec) as sim:
        now = float(sim.simulation.getTime())
        while now < end:
            sim.simulationStep(min(now + report_every_s, end))
            now = float(sim.simulation.getTime())
            if progress is not None:
                progress(now, end)
            if now < end and cancelled is not None and cancelled():
                stopped = True
                break
    return RunOutcome(now, stopped, time.monotonic() - started)


_STEP_LOG = re.compile(r"Step #(\d+(?:\.\d+)?)")


def run_binary(
    spec: SimulationSpec,
    *,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
    report_every_s: float = DEFAULT_REPORT_EVERY_S,
    cwd: Path | None = None,
) -> RunOutcome:
    """Run the spec with the sumo binary as a child process. Its step log (every reporting period) gives
    the progress; the cancel check also runs every CANCEL_POLL_WALL_S while SUMO is busy loading."""
    end = spec.required_end()
    if report_every_s <= 0:
        raise ValueError("report_every_s must be positive")
    steps = max(round(report_every_s / spec.step_length_s), 1)
    command = [binary("sumo"), *spec.arguments(), "--step-log.period", str(steps)]
    started = time.monotonic()
    # The wheel's binary with arguments we built; no shell.
    process = subprocess.Popen(  # noqa: S603
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment(), cwd=cwd
    )
    times: queue.Queue[float | None] = queue.Queue()
    tail: deque[str] = deque(maxlen=20)  # SUMO's last messages, for the error
    reader = threading.Thread(target=_read_output, args=(process, times, tail), daemon=True)
    reader.start()
    now = spec.begin_s
    stopped = False
    try:
        while True:
            try:
                reported = times.get(timeout=CANCEL_POLL_WALL_S)
            except queue.Empty:
                reported = -1.0
            if reported is None:  # SUMO closed its output: it has finished
                break
            if reported >= 0:
                now = reported
                if progress is not None and now > spec.begin_s:
                    progress(now, end)
            if not stopped and now < end and cancelled is not None and cancelled():
                stopped = True
                process.terminate()  # SUMO finishes the step and closes its outputs
        returncode = process.wait(timeout=TERMINATE_GRACE_S if stopped else None)
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        reader.join(timeout=5)
    if returncode != 0 and not stopped:
        raise SumoError(f"sumo failed ({returncode}): {' | '.join(tail)}")
    if not stopped and now < end and progress is not None:
        progress(end, end)  # the last step log line comes before the final steps
        now = end
    return RunOutcome(now if stopped else max(now, end), stopped, time.monotonic() - started)


def _read_output(process: subprocess.Popen[bytes], times: queue.Queue[float | None], tail: deque[str]) -> None:
    """SUMO writes its step log with carriage returns: split on both line ends, keep the other lines."""
    assert process.stdout is not None
    buffer = b""
    while chunk := os.read(process.stdout.fileno(), 4096):
        buffer += chunk
        *parts, buffer = re.split(rb"[\r\n]", buffer)
        for raw in parts:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            match = _STEP_LOG.match(line)
            if match:
                times.put(float(match.group(1)))
            else:
                tail.append(line)
    if buffer.strip():
        tail.append(buffer.decode("utf-8", "replace").strip())
    times.put(None)
