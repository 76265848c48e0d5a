"""Celery tasks of scenario runs: thin, on the simulation queue (CELERY_TASK_ROUTES: simulation.*)."""

from __future__ import annotations

from celery import shared_task

from apps.jobs.services import execute


@shared_task(name="simulation.run_seed")
def run_seed_task(job_id: int) -> None:
    from .jobs import run_seed

    execute(job_id, run_seed)
    settle_run_of(job_id)


def settle_run_of(job_id: int) -> None:
    """Settle the seed's run whatever the job's outcome: the last seed to end sets the run's state."""
    from apps.jobs.models import Job

    from .services import settle_run

    run_id = Job.objects.filter(pk=job_id).values_list("params__run", flat=True).first()
    if run_id is not None:
        settle_run(int(run_id))
