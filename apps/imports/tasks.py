"""Celery tasks of imports: thin, they call the job service with the import's work."""

from __future__ import annotations

from celery import shared_task

from apps.jobs.services import execute


@shared_task(name="imports.run_import_job")
def run_import_job_task(job_id: int) -> None:
    from .jobs import run_import_job

    execute(job_id, run_import_job)
