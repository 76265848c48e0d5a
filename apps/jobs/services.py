"""Creating, running and cancelling jobs: the one path for all long work.

create_job() writes the row and queues the kind's thin Celery task when the transaction commits. The task
calls execute(job_id, work): execute claims the job with a lease (so a job redelivered after a worker died
never runs beside a live copy of itself), hands `work` a Progress to report through (which also renews the
lease and raises JobCancelled once a cancel was asked for), and records the outcome: succeeded with a
result, failed with an error a person can act on (a DomainError's message; anything else is "internal
error", with the traceback in the worker's log only), or cancelled. Every change is streamed on the `jobs`
topic after it is committed."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat, Right
from django.utils import timezone

from apps.core.exceptions import DomainError
from apps.streaming.publish import publish

from . import conf
from .models import ACTIVE_STATES, Job, JobState
from .topics import JOBS_GROUP, job_item

# The job row is written through its own connection while the work runs, so progress is visible (and
# streamed) while the work's own transaction is still open, e.g. an import's all-or-nothing transaction.
DB = "jobs"

log = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a job's work when its owner asked to cancel it."""


class JobLimitReached(DomainError):
    code = "job_limit"
    http_status = 429


class JobNotCancellable(DomainError):
    code = "not_cancellable"
    http_status = 409


Work = Callable[[Job, "Progress"], dict[str, Any] | None]


def _publish_after_commit(job_id: int, using: str = "default") -> None:
    def send() -> None:
        job = Job.objects.using(using).filter(pk=job_id).first()
        if job is not None:
            try:
                publish(JOBS_GROUP, "jobs", [job_item(job)])
            except Exception:  # noqa: BLE001 - streaming is best effort; the row is the truth
                log.warning("could not stream job #%s", job_id, exc_info=True)

    transaction.on_commit(send, using=using)


@transaction.atomic
def create_job(
    *,
    kind: str,
    owner: Any,
    params: dict[str, Any],
    enqueue: Callable[[int], str],
    task_name: str = "",
    status_text: str = "waiting for a worker",
    capped: bool = True,
) -> Job:
    """Create a queued job; `enqueue(job_id) -> task id` runs after commit (a kind's task.apply_async).
    Raises JobLimitReached when the owner already has CITYTWIN_JOBS_PER_USER active jobs (capped=False: the
    caller caps the work itself, e.g. a scenario run caps runs, not the simulations of its seeds)."""
    owner = owner if getattr(owner, "is_authenticated", False) else None
    if owner is not None and capped:
        # Lock the owner's row so two requests at once cannot both pass the cap.
        get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
        active = Job.objects.filter(owner=owner, kind=kind, state__in=ACTIVE_STATES).count()
        cap = conf.max_active_per_user()
        if active >= cap:
            raise JobLimitReached(
                f"you already have {active} {kind} jobs queued or running (at most {cap}); wait for one to finish or cancel one"
            )
    job = Job.objects.create(kind=kind, owner=owner, params=params, status_text=status_text, task_name=task_name)

    def queue() -> None:
        try:
            task_id = enqueue(job.pk)
            if not task_id:
                return  # the caller runs it itself
        except Exception:  # noqa: BLE001 - the broker is down or refused: say so on the job, not as a 500
            log.exception("job #%s could not be queued", job.pk)
            Job.objects.filter(pk=job.pk, state=JobState.QUEUED).update(
                state=JobState.FAILED,
                finished_at=timezone.now(),
                status_text="not queued",
                error="the job queue could not be reached; nothing was done. Try again in a minute.",
            )
            _publish_after_commit(job.pk)
            return
        Job.objects.filter(pk=job.pk).update(task_id=task_id[:64])

    transaction.on_commit(queue)
    _publish_after_commit(job.pk)
    return job


class Progress:
    """Handed to a job's work: `progress(percent, "what is happening")` and `progress.log("line")`.
    Writes at most every CITYTWIN_JOB_PROGRESS_INTERVAL_S (and always at 100), renews the lease, and raises
    JobCancelled when a cancel was asked for."""

    def __init__(self, job: Job, worker: str) -> None:
        self.job = job
        self.worker = worker
        self._last_write = 0.0

    def __call__(self, percent: float, text: str = "", *, force: bool = False) -> None:
        now = time.monotonic()
        percent = max(0.0, min(100.0, float(percent)))
        if not force and percent < 100 and now - self._last_write < conf.progress_interval_s():
            return
        self._last_write = now
        with transaction.atomic(using=DB):
            jobs = Job.objects.using(DB).filter(pk=self.job.pk)
            updated = jobs.filter(worker=self.worker).update(
                progress=percent, status_text=text[:200], lease_until=_lease_end()
            )
            cancel = jobs.values_list("cancel_requested", flat=True).first()
            _publish_after_commit(self.job.pk, DB)
        if not updated:
            raise JobCancelled("the job's lease was lost")  # another worker took it over: stop here
        if cancel:
            raise JobCancelled("cancelled by request")

    def log(self, line: str) -> None:
        stamp = timezone.now().strftime("%H:%M:%S")
        Job.objects.using(DB).filter(pk=self.job.pk).update(
            log=Right(Concat(F("log"), Value(f"{stamp} {line}\n")), conf.MAX_LOG_CHARS)
        )


def _lease_end() -> Any:
    return timezone.now() + timedelta(seconds=conf.lease_seconds())


def _claim(job_id: int, worker: str) -> bool:
    """Take the job: queued, or running under a lease that ran out (its worker died)."""
    with connections[DB].cursor() as cursor:
        cursor.execute(
            """
            UPDATE jobs_job SET state = 'running', worker = %s, lease_until = %s, attempts = attempts + 1,
                   started_at = COALESCE(started_at, now()), status_text = 'started'
            WHERE id = %s AND NOT cancel_requested
              AND (state = 'queued' OR (state = 'running' AND (lease_until IS NULL OR lease_until < now())))
            """,
            [worker, _lease_end(), job_id],
        )
        return cursor.rowcount == 1


class _Heartbeat(threading.Thread):
    """Renews the lease while the work runs between progress reports (its own database connection)."""

    def __init__(self, job_id: int, worker: str) -> None:
        super().__init__(name=f"job-{job_id}-lease", daemon=True)
        self.job_id, self.worker = job_id, worker
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(conf.lease_seconds() / 3):
                Job.objects.using(DB).filter(pk=self.job_id, worker=self.worker, state=JobState.RUNNING).update(
                    lease_until=_lease_end()
                )
        finally:
            connections.close_all()


def _finish(job_id: int, worker: str, **fields: Any) -> bool:
    with transaction.atomic(using=DB):
        done = (
            Job.objects.using(DB)
            .filter(pk=job_id, worker=worker, state=JobState.RUNNING)
            .update(finished_at=timezone.now(), lease_until=None, **fields)
        )
        _publish_after_commit(job_id, DB)
    return bool(done)


def execute(job_id: int, work: Work) -> str | None:
    """Run a job's work once, under its lease. Returns the final state, or None when the job was not
    this worker's to run (already finished, cancelled before it started, or held by a live worker)."""
    worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if not _claim(job_id, worker):
        cancelled = (
            Job.objects.using(DB)
            .filter(pk=job_id, state=JobState.QUEUED, cancel_requested=True)
            .update(state=JobState.CANCELLED, finished_at=timezone.now(), status_text="cancelled before it started")
        )
        if cancelled:
            _publish_after_commit(job_id, DB)
            return JobState.CANCELLED
        log.info("job #%s: not claimed (finished, or running under a live lease)", job_id)
        return None
    job = Job.objects.using(DB).get(pk=job_id)
    _publish_after_commit(job_id, DB)
    heartbeat = _Heartbeat(job_id, worker)
    heartbeat.start()
    try:
        result = work(job, Progress(job, worker)) or {}
    except JobCancelled as exc:
        _finish(job_id, worker, state=JobState.CANCELLED, status_text=str(exc)[:200])
        return JobState.CANCELLED
    except DomainError as exc:
        _finish(job_id, worker, state=JobState.FAILED, error=exc.message, status_text="failed")
        return JobState.FAILED
    except Exception as exc:
        log.exception("job #%s (%s) failed", job_id, job.kind)
        _finish(
            job_id,
            worker,
            state=JobState.FAILED,
            error=f"internal error ({type(exc).__name__}); the details are in the worker's log",
            status_text="failed",
        )
        return JobState.FAILED
    finally:
        heartbeat.stopped.set()
        heartbeat.join(timeout=5)
    _finish(job_id, worker, state=JobState.SUCCEEDED, progress=100.0, result=result, status_text="done")
    return JobState.SUCCEEDED


def requeue_stalled_jobs(*, send: Callable[[str, int], str] | None = None) -> list[int]:
    """Queue again the jobs whose worker stopped: running with a lease that ran out (the worker was killed;
    Redis would redeliver its message only after the visibility timeout, hours later), or queued long ago
    with no task (the process that created them stopped before queueing). A job that has stopped
    CITYTWIN_JOB_MAX_ATTEMPTS times fails instead. Whichever copy of a job arrives first claims it; the others
    find its lease held and do nothing. Run periodically by Celery beat (jobs.requeue_stalled)."""
    if send is None:
        from celery import current_app

        def send(task_name: str, job_id: int) -> str:
            return str(current_app.send_task(task_name, args=[job_id]).id)

    now = timezone.now()
    stalled = Job.objects.exclude(task_name="").filter(
        Q(state=JobState.RUNNING, lease_until__lt=now)
        | Q(state=JobState.QUEUED, task_id="", created_at__lt=now - timedelta(seconds=conf.lease_seconds()))
    )
    requeued = []
    for job in stalled:
        if job.attempts >= conf.max_attempts():
            failed = Job.objects.filter(pk=job.pk, state=job.state, lease_until=job.lease_until).update(
                state=JobState.FAILED,
                finished_at=now,
                lease_until=None,
                status_text="failed",
                error=f"its worker stopped {job.attempts} times while running it; it was not run again",
            )
            if failed:
                _publish_after_commit(job.pk)
            continue
        task_id = send(job.task_name, job.pk)
        Job.objects.filter(pk=job.pk).update(task_id=task_id[:64])
        log.warning("job #%s (%s): its worker stopped; queued again", job.pk, job.kind)
        requeued.append(job.pk)
    return requeued


@transaction.atomic
def request_cancel(*, job_id: int) -> Job:
    """Cancel a queued job at once; ask a running one to stop at its next progress report."""
    job = Job.objects.select_for_update().get(pk=job_id)
    if job.state == JobState.QUEUED:
        job.state, job.cancel_requested = JobState.CANCELLED, True
        job.finished_at, job.status_text = timezone.now(), "cancelled before it started"
        job.save(update_fields=["state", "cancel_requested", "finished_at", "status_text"])
    elif job.state == JobState.RUNNING:
        job.cancel_requested = True
        job.status_text = "cancelling"
        job.save(update_fields=["cancel_requested", "status_text"])
    else:
        raise JobNotCancellable(f"job #{job.pk} has already {job.state}")
    _publish_after_commit(job.pk)
    return job
