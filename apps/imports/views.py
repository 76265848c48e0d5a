"""The upload page for GIS staff: the same loader and report as `load_city`, in the browser.

The page takes the file and queues its load as a job (apps/jobs): a worker runs the loader, and the job's
page shows the load's own progress and then leads to the import report. What can be told at once (the form,
the size, the file type, an unknown SRID, the per-person cap on running jobs) is answered in the request."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import get_valid_filename

from apps.accounts.permissions import IsDataEditor, role_of
from apps.core.geo import srid_is_known
from apps.jobs.services import JobLimitReached

from .exceptions import ImportFileError
from .forms import UploadForm
from .jobs import queue_import, upload_folder
from .models import ImportRun
from .readers import detect_format

ISSUES_PER_PAGE = 100


def _require_editor(request: HttpRequest) -> None:
    if role_of(request.user) not in {"gis_staff", "admin"}:
        raise PermissionDenied(IsDataEditor.message)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _too_large(request: HttpRequest) -> HttpResponse:
    limit = settings.CITYTWIN_MAX_UPLOAD_MB
    message = f"The file is larger than the upload limit of {limit} MB. Load it with `manage.py load_city` instead."
    if _wants_json(request):
        return JsonResponse({"code": "upload_too_large", "detail": message}, status=413)
    return render(
        request, "imports/upload.html", {"form": UploadForm(), "error": message, "recent": _recent()}, status=413
    )


def _recent() -> list[ImportRun]:
    return list(ImportRun.objects.select_related("created_by").order_by("-created_at")[:10])


@login_required
def upload(request: HttpRequest) -> HttpResponse:
    _require_editor(request)
    if request.method != "POST":
        return render(request, "imports/upload.html", {"form": UploadForm(), "recent": _recent()})
    # city/asgi.py refuses a huge body before it is read (apps/core/request_limits.py); this repeats the
    # check for entry points without that layer (the test client, a WSGI server).
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    limit_bytes = settings.CITYTWIN_MAX_UPLOAD_MB * 1024 * 1024
    if declared > limit_bytes + 64 * 1024:
        return _too_large(request)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        if _wants_json(request):
            return JsonResponse({"code": "invalid", "errors": form.errors.get_json_data()}, status=400)
        return render(request, "imports/upload.html", {"form": form, "recent": _recent()}, status=400)
    uploaded = form.cleaned_data["file"]
    if uploaded.size > limit_bytes:
        return _too_large(request)
    options = {
        "kind": form.cleaned_data["kind"] or None,
        "layer": form.cleaned_data["layer"] or None,
        "srid": form.cleaned_data["srid"],
        "dry_run": form.cleaned_data["dry_run"],
        "replace": form.cleaned_data["replace"],
    }
    try:
        detect_format(Path(uploaded.name))
        if options["srid"] is not None and not srid_is_known(options["srid"]):
            raise ImportFileError(
                uploaded.name, f"EPSG:{options['srid']} is not a coordinate reference system PostGIS knows"
            )
    except ImportFileError as exc:
        return _refused(request, form, exc.code, exc.message, status=400)
    folder = upload_folder() / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (get_valid_filename(Path(uploaded.name).name) or "upload")
    with open(target, "wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    try:
        job = queue_import(path=target, display_name=uploaded.name, options=options, user=request.user)
    except JobLimitReached as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return _refused(request, form, exc.code, exc.message, status=429)
    job_url = reverse("job", args=[job.pk])
    if _wants_json(request):
        body = {"job": job.pk, "state": job.state, "job_url": job_url, "status_url": f"/api/jobs/{job.pk}/"}
        return JsonResponse(body, status=202)
    return redirect(job_url)


def _refused(request: HttpRequest, form: UploadForm, code: str, message: str, *, status: int) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"code": code, "detail": message}, status=status)
    context = {"form": form, "error": message, "recent": _recent()}
    return render(request, "imports/upload.html", context, status=status)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    run = get_object_or_404(ImportRun.objects.select_related("created_by"), pk=pk)
    columns = ("read", "created", "updated", "unchanged", "repaired", "rejected", "warnings", "deleted")
    rows = [(kind, [counts.get(c, 0) for c in columns]) for kind, counts in run.counts.items()]
    page = Paginator(run.errors, ISSUES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "imports/detail.html", {"run": run, "columns": columns, "rows": rows, "issues": page})
