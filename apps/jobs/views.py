"""The page of one job: live progress, cancel, and the way on to its result."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .selectors import jobs_visible_to

TITLES = {"import": "Loading {name}", "scenario_run": "Scenario run {name}"}
NEXT_LABELS = {"import": "Open the import report", "scenario_run": "Open the results"}


@login_required
def job_page(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(jobs_visible_to(request.user), pk=pk)  # 404 too for someone else's job
    name = job.params.get("display_name") or f"#{job.pk}"
    context = {
        "job": job,
        "title": TITLES.get(job.kind, "Job {name}").format(name=name),
        "next_label": NEXT_LABELS.get(job.kind, "Open the result"),
        "config": {
            "id": job.pk,
            "state": job.state,
            "api_url": f"/api/jobs/{job.pk}/",
            "cancel_url": f"/api/jobs/{job.pk}/cancel/",
        },
    }
    return render(request, "jobs/detail.html", context)
