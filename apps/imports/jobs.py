"""An upload as a job: the upload page saves the file and queues it; a worker loads it with run_import,
reporting the loader's own progress (steps and rows) to the job, which streams it to the page."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from apps.jobs.models import Job
from apps.jobs.services import Progress, create_job

from .models import ImportRun, ImportState
from .services import run_import

JOB_KIND = "import"


def upload_folder() -> Path:
    return Path(settings.MEDIA_ROOT) / "uploads"


def queue_import(*, path: Path, display_name: str, options: dict[str, Any], user: Any) -> Job:
    """Queue the load of a saved upload (under upload_folder(); the job deletes it when done)."""
    from .tasks import run_import_job_task

    return create_job(
        kind=JOB_KIND,
        owner=user,
        params={"path": str(path), "display_name": display_name, **options},
        enqueue=lambda job_id: str(run_import_job_task.delay(job_id).id),
        task_name=run_import_job_task.name,
        status_text=f"{display_name}: waiting for a worker",
    )


def run_import_job(job: Job, progress: Progress) -> dict[str, Any]:
    params = job.params
    path = Path(params["path"])
    if upload_folder().resolve() not in path.resolve().parents:
        raise ValueError(f"job #{job.pk}: {path} is not an upload")  # never load an arbitrary server path

    def report(what: str, done: float, total: int) -> None:
        if float(done).is_integer():  # a step starts (progress within a step comes as a fraction)
            progress.log(what)
        progress(100.0 * done / max(total, 1), what)

    # An earlier attempt whose worker was killed left its import run "running": it did nothing (its
    # transaction died with it) and says so.
    ImportRun.objects.filter(options__job=job.pk, state=ImportState.RUNNING).update(
        state=ImportState.FAILED, finished_at=timezone.now(), message="its worker stopped; nothing was changed"
    )
    try:
        result = run_import(
            path=path,
            display_name=params["display_name"],
            kind=params.get("kind"),
            layer=params.get("layer"),
            srid=params.get("srid"),
            dry_run=bool(params.get("dry_run")),
            replace=bool(params.get("replace")),
            user=job.owner,
            job_id=job.pk,
            progress=report,
        )
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    progress.log(result.run.message)
    return {
        "import_run": result.run.pk,
        "url": reverse("imports:detail", args=[result.run.pk]),
        "message": result.run.message,
    }
