"""python manage.py run_scenario FILE.json [--wait] [--inline] [--user NAME]

Creates the scenario of a JSON document (the API's document, docs/scenarios.md) and queues a run of it.
--wait follows the run to its end, with its progress on stderr, then prints the run's KPIs as JSON on
stdout (with the calibration summary where the window has counts); the exit status is 1 if it did not
succeed. --inline runs the simulations in this process through the same service, no worker needed
(batch use, CI); it implies --wait."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from rest_framework import serializers

from apps.core.exceptions import DomainError
from apps.jobs.services import execute
from apps.simulation.api.serializers import RunSerializer
from apps.simulation.models import RunState, ScenarioRun
from apps.simulation.services import create_scenario, settle_run, start_run

FINAL = (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED)


def flatten_errors(errors: Any, prefix: str = "") -> list[str]:
    """{'edits': {'2': {'segment': ['...']}}} -> ['edits[2].segment: ...']"""
    if isinstance(errors, dict):
        out = []
        for key, value in errors.items():
            name = f"{prefix}[{key}]" if str(key).isdigit() else (f"{prefix}.{key}" if prefix else str(key))
            out += flatten_errors(value, name)
        return out
    if isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        return [f"{prefix}: {e}" if prefix else str(e) for e in errors]
    if isinstance(errors, list):
        return [line for i, e in enumerate(errors) for line in flatten_errors(e, f"{prefix}[{i}]")]
    return [f"{prefix}: {errors}"]


class Command(BaseCommand):
    help = "Create a scenario from a JSON document and run it (--wait: follow it; --inline: run it here)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The scenario document (JSON).")
        parser.add_argument("--wait", action="store_true", help="Follow the run to its end and print its KPIs.")
        parser.add_argument(
            "--inline", action="store_true", help="Simulate in this process (no worker); implies --wait."
        )
        parser.add_argument("--user", help="The owner (a username); default none.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        document = self._read(path)
        owner = None
        if options["user"]:
            owner = get_user_model().objects.filter(username=options["user"]).first()
            if owner is None:
                raise CommandError(f"no user {options['user']!r}")
        try:
            scenario = create_scenario(document=document, owner=owner)
            run = start_run(scenario=scenario, owner=owner, enqueue=not options["inline"])
        except serializers.ValidationError as exc:
            raise CommandError(f"{path}: " + "; ".join(flatten_errors(exc.detail))) from exc
        except DomainError as exc:
            raise CommandError(f"{path}: {exc.message}") from exc
        self.stderr.write(
            f"scenario #{scenario.pk} ({scenario.name}): run #{run.pk}, {len(run.document['seeds'])} seed(s)"
        )
        if options["inline"]:
            # SUMO (libsumo, in this process) prints its messages to file descriptor 1: send them to stderr
            # while it runs, so stdout carries only the JSON summary.
            sys.stdout.flush()
            saved = os.dup(1)
            os.dup2(2, 1)
            try:
                worker = threading.Thread(target=self._run_inline, args=(run.pk,), name="run-inline", daemon=True)
                worker.start()
                self._follow(run.pk)
                worker.join()
            finally:
                sys.stdout.flush()
                os.dup2(saved, 1)
                os.close(saved)
        elif options["wait"]:
            self._follow(run.pk)
        else:
            self.stdout.write(json.dumps({"scenario": scenario.pk, "run": run.pk, "state": run.state}))
            return
        run.refresh_from_db()
        self.stdout.write(json.dumps(self._summary(run), indent=2, default=str))
        if run.state != RunState.SUCCEEDED:
            sys.exit(1)

    def _read(self, path: Path) -> Any:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: cannot be read ({exc})") from exc
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path}: line {exc.lineno}, column {exc.colno}: not JSON ({exc.msg})") from exc

    def _run_inline(self, run_id: int) -> None:
        from apps.simulation.jobs import run_seed

        try:
            for seed_run in ScenarioRun.objects.get(pk=run_id).seed_runs.order_by("seed"):
                execute(seed_run.job_id, run_seed)
                settle_run(run_id)
        finally:
            connections.close_all()

    def _follow(self, run_id: int) -> None:
        """Progress lines on stderr (when they change) until the run has ended."""
        last = ""
        while True:
            run = ScenarioRun.objects.get(pk=run_id)
            data = RunSerializer(run).data
            line = f"{data['progress']:5.1f}% " + " | ".join(
                f"seed {s['seed']}: {s['state']} {s['status_text']}" for s in data["seeds"]
            )
            if line != last:
                self.stderr.write(line)
                last = line
            if run.state in FINAL:
                return
            time.sleep(1.0)

    def _summary(self, run: ScenarioRun) -> dict[str, Any]:
        out: dict[str, Any] = {"scenario": run.scenario_id, "run": run.pk, "state": run.state}
        if run.error:
            out["error"] = run.error
        out["kpis"] = {k: v["mean"] for k, v in run.kpis.items()}
        out["kpis_ci95"] = {k: v["ci95"] for k, v in run.kpis.items()}
        if run.calibration:
            out.update(share_geh_below_5=run.calibration["share_geh_below_5"], r2=run.calibration["r2"])
            out["calibration"] = run.calibration
        return out
