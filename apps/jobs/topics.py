"""The `jobs` streaming topic: a person sees their own jobs' progress live; admins see everyone's."""

from __future__ import annotations

from typing import Any

from apps.accounts.models import STAFF_ROLES, Role
from apps.accounts.permissions import role_of
from apps.streaming.topics import Item, SubscriptionError, Topic, refuse_unknown_params, register

from .models import Job

JOBS_GROUP = "jobs"
RECENT_JOBS = 20


def job_item(job: Job) -> Item:
    return {
        "id": job.pk,
        "kind": job.kind,
        "owner": job.owner_id,
        "state": job.state,
        "progress": round(job.progress, 1),
        "status": job.status_text,
        "error": job.error,
        "cancel_requested": job.cancel_requested,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def _authorize(user: Any, params: dict[str, Any]) -> dict[str, Any]:
    role = role_of(user)
    if role not in STAFF_ROLES:
        raise SubscriptionError("forbidden", "jobs are visible to the people who start them")
    refuse_unknown_params("jobs", params, ("job",))
    job = params.get("job")
    if job is not None and (isinstance(job, bool) or not isinstance(job, int)):
        raise SubscriptionError("invalid", "job must be a job id (an integer)")
    # Admins follow everyone's jobs; the others their own.
    return {"owner": None if role == Role.ADMIN else user.pk, "job": job}


def _wants(item: Item, params: dict[str, Any]) -> bool:
    if params["job"] is not None and item["id"] != params["job"]:
        return False
    return params["owner"] is None or item["owner"] == params["owner"]


def _snapshot(user: Any, params: dict[str, Any]) -> list[Item]:
    jobs = Job.objects.all()
    if params["owner"] is not None:
        jobs = jobs.filter(owner_id=params["owner"])
    if params["job"] is not None:
        jobs = jobs.filter(pk=params["job"])
    return [job_item(job) for job in jobs.order_by("-created_at")[:RECENT_JOBS]]


def register_topics() -> None:
    register(
        Topic(
            name="jobs", group=JOBS_GROUP, authorize=_authorize, snapshot=_snapshot, wants=_wants, key=lambda i: i["id"]
        )
    )
