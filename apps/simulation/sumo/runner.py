"""Starting and stepping a SUMO simulation, with a progress callback `(sim_time_s, end_s) -> None` and a
cancel check `() -> bool` that stops it cleanly (SUMO closes its outputs either way).

The same SimulationSpec runs two ways, stepped the same way: one call per reporting period, in which SUMO
runs all the steps up to the target time itself; never a TraCI call per vehicle (10x slower,
/work/shared/NOTES.md): measures come from detectors and edgeData outputs (detectors.py).
- libsumo, in this process (`libsumo_session`, `run_libsumo`): no process start-up, no socket. libsumo
  allows ONE simulation per process, so this is for a process of its own (a worker's child running one
  task at a time, the demo feed's process, a command); a second start while one runs raises
  SimulationBusy instead of clobbering the first.
- the sumo binary as a child process, driven over TraCI on a free local port (`binary_session`,
  `run_binary`): any process may run any number of these, e.g. one that already holds libsumo; SUMO's
  start-up errors come back in its own words."""

from __future__ import annotations

import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .install import binary, environment

ProgressCallback = Callable[[float, float], None]
"""progress(sim_time_s, end_s): called every reporting period of simulated time and at the end."""

CancelCheck = Callable[[], bool]
"""cancelled(): True stops the simulation cleanly at the next check."""

DEFAULT_REPORT_EVERY_S = 60.0  # simulated seconds between progress reports and cancel checks
CONNECT_TIMEOUT_S = 600.0  # the binary: loading a large network and its routes takes a while


class SumoError(RuntimeError):
    """SUMO refused the inputs or failed while running; with SUMO's own words where it gives them."""


class SimulationBusy(SumoError):
    """This process already runs a libsumo simulation (libsumo allows one per process)."""


@dataclass(frozen=True)
class SimulationSpec:
    """What to simulate: the inputs and options of one SUMO run, the same for libsumo and the binary."""

    net_file: Path
    route_files: tuple[Path, ...] = ()
    additional_files: tuple[Path, ...] = ()
    begin_s: float = 0.0
    end_s: float | None = None  # None: until the caller stops stepping (sessions only; run_* need an end)
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
        args += ["--begin", str(float(self.begin_s))]
        if self.end_s is not None:
            args += ["--end", str(float(self.end_s))]
        args += ["--step-length", str(float(self.step_length_s)), "--seed", str(self.seed)]
        return args + list(self.options)

    def required_end(self) -> float:
        """end_s, checked: a run to the end needs one after begin_s."""
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


def _check_inputs(spec: SimulationSpec) -> None:
    """A missing input is the commonest refusal; name it here, where libsumo would only say "Process Error"."""
    for path in (spec.net_file, *spec.route_files, *spec.additional_files):
        if not Path(path).is_file():
            raise SumoError(f"SUMO input not found: {path}")


def _quiet(spec: SimulationSpec) -> list[str]:
    return [] if "--no-step-log" in spec.options else ["--no-step-log"]


_libsumo_lock = threading.Lock()


@contextmanager
def libsumo_session(spec: SimulationSpec) -> Iterator[Any]:
    """Start libsumo on the spec and yield the libsumo module for stepping; closed on leaving, also on
    errors and cancellation, so the process can run its next simulation."""
    _check_inputs(spec)
    if not _libsumo_lock.acquire(blocking=False):
        raise SimulationBusy("this process already runs a libsumo simulation (one per process)")
    try:
        import libsumo

        try:
            libsumo.start(["sumo", *spec.arguments(), *_quiet(spec)])
        except libsumo.TraCIException as exc:
            # libsumo says only "Process Error"; SUMO's reason went to this process's stderr.
            raise SumoError(f"SUMO refused to start ({exc}); its message is on this process's stderr") from exc
        try:
            yield libsumo
        finally:
            libsumo.close()
    finally:
        _libsumo_lock.release()


@contextmanager
def binary_session(spec: SimulationSpec) -> Iterator[Any]:
    """Start the sumo binary on the spec as a child process and yield a TraCI connection to it (the same
    stepping API as libsumo); on leaving, the connection is closed and SUMO ends, writing its outputs."""
    import traci
    from sumolib.miscutils import getFreeSocketPort

    _check_inputs(spec)
    port = getFreeSocketPort()
    command = [binary("sumo"), *spec.arguments(), *_quiet(spec), "--remote-port", str(port)]
    with tempfile.TemporaryFile() as stderr:
        # The wheel's binary with arguments we built; no shell. SUMO accepts one TraCI client: ours.
        process = subprocess.Popen(  # noqa: S603
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, env=environment()
        )
        try:
            connection = _connect(traci, port, process, stderr)
        except BaseException:
            process.kill()
            process.wait()
            raise
        try:
            yield connection
        finally:
            try:
                connection.close()  # SUMO finishes the step, closes its outputs and exits
            except Exception:
                process.kill()  # SUMO is gone or hung: nothing left to close cleanly
                process.wait()
                raise


def _connect(traci: Any, port: int, process: subprocess.Popen[bytes], stderr: IO[bytes]) -> Any:
    """Connect once SUMO listens (it loads the network first). Our own loop, one attempt at a time:
    traci's own retries print to stdout, which a command's JSON output must not get."""
    # importing libsumo replaces traci.exceptions.TraCIException with its own class, while traci.main
    # keeps raising the original: catch both.
    refused = (traci.exceptions.FatalTraCIError, traci.exceptions.TraCIException, traci.main.TraCIException)
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        try:
            connection = traci.connect(port, numRetries=0, proc=process)
            connection.getVersion()  # SUMO accepts before it loads the inputs: a refusal shows here
            return connection
        except refused as exc:
            if process.poll() is not None:
                stderr.seek(0)
                errors = [line.strip() for line in stderr.read().decode("utf-8", "replace").splitlines()]
                message = " | ".join(line for line in errors if line.startswith("Error")) or str(exc)
                raise SumoError(f"SUMO refused to start: {message}") from exc
            if time.monotonic() > deadline:
                raise SumoError(f"SUMO did not accept a TraCI connection within {CONNECT_TIMEOUT_S:g} s") from exc
            time.sleep(0.05)


def run_libsumo(
    spec: SimulationSpec,
    *,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
    report_every_s: float = DEFAULT_REPORT_EVERY_S,
    at_end: Callable[[Any], None] | None = None,
) -> RunOutcome:
    """Run the spec to its end with libsumo in this process; see _drive."""
    return _drive(libsumo_session, spec, progress, cancelled, report_every_s, at_end)


def run_binary(
    spec: SimulationSpec,
    *,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
    report_every_s: float = DEFAULT_REPORT_EVERY_S,
    at_end: Callable[[Any], None] | None = None,
) -> RunOutcome:
    """Run the spec to its end with the sumo binary as a child process; see _drive."""
    return _drive(binary_session, spec, progress, cancelled, report_every_s, at_end)


def _drive(
    session: Callable[[SimulationSpec], AbstractContextManager[Any]],
    spec: SimulationSpec,
    progress: ProgressCallback | None,
    cancelled: CancelCheck | None,
    report_every_s: float,
    at_end: Callable[[Any], None] | None = None,
) -> RunOutcome:
    """SUMO advances a whole reporting period per call (its own loop, in C++), then progress is reported and
    the cancel check runs; cancelled, the session closes SUMO, which writes its outputs up to that time.
    at_end(sim), where given, reads what it needs of the final state (a handful of calls, not per step)
    before SUMO closes; not on a cancelled run."""
    end = spec.required_end()
    if report_every_s <= 0:
        raise ValueError("report_every_s must be positive")
    started = time.monotonic()
    with session(spec) as sim:
        now = float(sim.simulation.getTime())
        while now < end:
            try:
                sim.simulationStep(min(now + report_every_s, end))
                now = float(sim.simulation.getTime())
            except Exception as exc:  # libsumo's and TraCI's own exception classes differ
                raise SumoError(f"SUMO failed at {now:g} s: {exc}") from exc
            if progress is not None:
                progress(now, end)
            if now < end and cancelled is not None and cancelled():
                return RunOutcome(now, True, time.monotonic() - started)
        if at_end is not None:
            at_end(sim)
    return RunOutcome(now, False, time.monotonic() - started)
