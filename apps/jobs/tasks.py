"""Celery tasks of the job system itself."""

from __future__ import annotations

from celery import shared_task

from .services import requeue_stalled_jobs


@shared_task(name="jobs.requeue_stalled")
def requeue_stalled_jobs_task() -> list[int]:
    return requeue_stalled_jobs()
