"""Scenarios and runs: create, edit (a new version once run), duplicate, run (one job per seed), cancel,
and settle a run's state from its seed jobs. Views, the API and run_scenario call these only."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from rest_framework import serializers

from apps.core.exceptions import DomainError
from apps.jobs.models import ACTIVE_STATES, FINAL_STATES, Job, JobState
from apps.jobs.services import create_job, request_cancel
from apps.roads.models import RoadNetwork
from apps.roads.networks import CITY

from . import conf
from .documents import validate_document
from .models import RunState, Scenario, ScenarioRun, SeedRun
from .sumo.network import network_hash

log = logging.getLogger(__name__)

JOB_KIND = "scenario_run"


class RunLimitReached(DomainError):
    code = "run_limit"
    http_status = 429


class RunNotCancellable(DomainError):
    code = "not_cancellable"
    http_status = 409


def _resolve_base(doc: dict[str, Any]) -> Scenario | None:
    base_id = doc.get("base")
    if base_id is None:
        return None
    base = Scenario.objects.filter(pk=base_id).first()
    if base is None:
        raise serializers.ValidationError({"base": [f"no scenario {base_id}"]})
    if base.network != doc["network"]:
        raise serializers.ValidationError({"base": [f"scenario {base_id} runs on network {base.network!r}"]})
    return base


@transaction.atomic
def create_scenario(*, document: Any, owner: Any, parent: Scenario | None = None) -> Scenario:
    """A new scenario (version 1 of a new lineage) from a document; raises ValidationError."""
    doc = validate_document(document)
    base = _resolve_base(doc)
    return Scenario.objects.create(name=doc["name"], owner=_user(owner), document=doc, base=base, parent=parent)


@transaction.atomic
def update_scenario(*, scenario: Scenario, document: Any, owner: Any) -> tuple[Scenario, bool]:
    """Save an edited document. A scenario that has runs is immutable: the edit becomes the next version
    of its lineage (returned with True); otherwise it is changed in place (False)."""
    doc = validate_document(document)
    base = _resolve_base(doc)
    if base is not None and base.lineage == scenario.lineage and base.pk == scenario.pk:
        raise serializers.ValidationError({"base": ["a scenario cannot be its own base"]})
    scenario = Scenario.objects.select_for_update().get(pk=scenario.pk)
    if not scenario.runs.exists():
        scenario.name, scenario.document, scenario.base = doc["name"], doc, base
        scenario.save(update_fields=["name", "document", "base"])
        return scenario, False
    latest = Scenario.objects.filter(lineage=scenario.lineage).aggregate(v=Max("version"))["v"] or 0
    version = Scenario.objects.create(
        lineage=scenario.lineage,
        version=latest + 1,
        parent=scenario,
        base=base,
        name=doc["name"],
        owner=_user(owner),
        document=doc,
    )
    return version, True


def duplicate_scenario(*, scenario: Scenario, owner: Any, name: str | None = None) -> Scenario:
    """A copy as a new scenario (its own lineage), remembering where it came from."""
    document = {**scenario.document, "name": name or f"Copy of {scenario.name}"[:200]}
    return create_scenario(document=document, owner=owner, parent=scenario)


def _user(owner: Any) -> Any:
    return owner if getattr(owner, "is_authenticated", False) else None


def current_network_hash(network: str) -> str:
    """The fingerprint of the network a run starts on: of the stored roads, or of the imported file."""
    if network == CITY:
        return network_hash()
    stored = RoadNetwork.objects.filter(name=network).first()
    if stored is None:
        raise DomainError(f"network {network!r} is no longer in the twin")
    return stored.sha256


@transaction.atomic
def start_run(*, scenario: Scenario, owner: Any, enqueue: bool = True) -> ScenarioRun:
    """Queue a run: one job per seed on the simulation queue. Raises RunLimitReached when the owner
    already has CITYTWIN_SCENARIO_RUNS_PER_USER runs queued or running. enqueue=False leaves the jobs
    queued for the caller to run in its own process (run_scenario --inline)."""
    from .tasks import run_seed_task

    user = _user(owner)
    if user is not None:
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()  # one check at a time per person
        active = ScenarioRun.objects.filter(owner=user, state__in=(RunState.QUEUED, RunState.RUNNING)).count()
        cap = conf.max_active_runs_per_user()
        if active >= cap:
            raise RunLimitReached(
                f"you already have {active} scenario runs queued or running (at most {cap}); "
                "wait for one to finish or cancel one"
            )
    doc = scenario.document
    run = ScenarioRun.objects.create(
        scenario=scenario,
        owner=user,
        document=doc,
        network=doc["network"],
        network_hash=current_network_hash(doc["network"]),
    )
    for seed in doc["seeds"]:

        def send(job_id: int) -> str:
            return str(run_seed_task.delay(job_id).id) if enqueue else ""

        job = create_job(
            kind=JOB_KIND,
            owner=user,
            params={"run": run.pk, "seed": seed, "scenario": scenario.pk},
            enqueue=send,
            task_name=run_seed_task.name if enqueue else "",
            status_text=f"{scenario.name}, seed {seed}: waiting for a simulation worker",
            capped=False,  # the run is capped above; its seeds are not extra work to refuse
        )
        SeedRun.objects.create(run=run, seed=seed, job=job)
    return run


def cancel_run(*, run: ScenarioRun) -> ScenarioRun:
    """Cancel every seed still queued or running; the run settles as cancelled when they have stopped."""
    jobs = Job.objects.filter(seed_run__run=run, state__in=ACTIVE_STATES)
    if not jobs.exists():
        raise RunNotCancellable(f"run #{run.pk} has already {run.state}")
    for job in jobs:
        with contextlib.suppress(DomainError):  # it finished meanwhile
            request_cancel(job_id=job.pk)
    settle_run(run.pk)
    run.refresh_from_db()
    return run


def _grid_of(run: ScenarioRun) -> dict[str, Any]:
    """The run's grid results; a failure there leaves the traffic results standing and says why."""
    try:
        from .grid import compute_grid

        with transaction.atomic():
            return compute_grid(run)
    except Exception as exc:  # the grid is a second opinion on finished traffic results: keep those
        log.exception("grid of scenario run #%s failed", run.pk)
        return {"error": f"the grid could not be computed: {exc}"[:500]}


def settle_run(run_id: int) -> str:
    """Set the run's state from its seed jobs (called after each seed job ends, and on cancel). When the
    last seed has succeeded, the run's KPIs and calibration are computed, once."""
    from .results import aggregate_kpis, calibrate

    with transaction.atomic():
        run = ScenarioRun.objects.select_for_update().get(pk=run_id)
        states = list(Job.objects.filter(seed_run__run=run).values_list("state", "error"))
        active = [s for s, _ in states if s in ACTIVE_STATES]
        if active:
            state = RunState.RUNNING if JobState.RUNNING in active or len(active) < len(states) else RunState.QUEUED
            if run.state != state:
                run.state = state
                run.save(update_fields=["state"])
            return run.state
        if run.state in FINAL_STATES:
            return run.state
        finals = [s for s, _ in states]
        if all(s == JobState.SUCCEEDED for s in finals):
            run.kpis = aggregate_kpis(run)
            run.calibration = calibrate(run)
            if run.document.get("energy"):
                run.grid = _grid_of(run)
                if "peak_substation_loading_pct" in run.grid:
                    peak = run.grid["peak_substation_loading_pct"]
                    run.kpis["peak_substation_loading_pct"] = {"mean": peak, "ci95": None, "seeds": []}
            run.state = RunState.SUCCEEDED
        elif JobState.FAILED in finals:
            run.state = RunState.FAILED
            errors = sorted({e for s, e in states if s == JobState.FAILED and e})
            run.error = "; ".join(errors)[:2000] or "a seed failed"
        else:
            run.state = RunState.CANCELLED
        run.finished_at = timezone.now()
        run.save(update_fields=["kpis", "calibration", "grid", "state", "error", "finished_at"])
        log.info("scenario run #%s %s", run.pk, run.state)
        return run.state


class NotComparable(DomainError):
    code = "not_comparable"
    http_status = 400


@transaction.atomic
def publish_comparison(*, run: ScenarioRun, against: ScenarioRun, title: str, summary: str = "", user: Any) -> Any:
    """Show the comparison of two finished runs on the same network to the public (again: update its words)."""
    from .models import PublishedComparison

    if run.pk == against.pk:
        raise NotComparable("a run cannot be compared with itself")
    if run.state != RunState.SUCCEEDED or against.state != RunState.SUCCEEDED:
        raise NotComparable("both runs must have finished successfully")
    if run.network != against.network:
        raise NotComparable(f"run {run.pk} is on network {run.network!r}, run {against.pk} on {against.network!r}")
    published, _ = PublishedComparison.objects.update_or_create(
        run=run, against=against, defaults={"title": title[:200], "summary": summary, "published_by": _user(user)}
    )
    return published


def unpublish_comparison(*, comparison_id: int) -> None:
    from .models import PublishedComparison

    PublishedComparison.objects.filter(pk=comparison_id).delete()
