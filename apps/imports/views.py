"""The upload page for GIS staff: the same loader and report as `load_city`, in the browser."""

from __future__ import annotations

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

from .exceptions import ImportFileError
from .forms import UploadForm
from .models import ImportRun
from .services import run_import

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
    # Refuse a huge body before Django reads it to disk.
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
    folder = Path(settings.MEDIA_ROOT) / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (get_valid_filename(Path(uploaded.name).name) or "upload")
    with open(target, "wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    try:
        result = run_import(
            path=target,
            display_name=uploaded.name,
            kind=form.cleaned_data["kind"] or None,
            layer=form.cleaned_data["layer"] or None,
            srid=form.cleaned_data["srid"],
            dry_run=form.cleaned_data["dry_run"],
            replace=form.cleaned_data["replace"],
            user=request.user,
        )
    except ImportFileError as exc:
        if _wants_json(request):
            return JsonResponse({"code": exc.code, "detail": exc.message}, status=400)
        return render(
            request, "imports/upload.html", {"form": form, "error": exc.message, "recent": _recent()}, status=400
        )
    finally:
        target.unlink(missing_ok=True)
        folder.rmdir()
    url = reverse("imports:detail", args=[result.run.pk])
    if _wants_json(request):
        return JsonResponse({"id": result.run.pk, "state": result.run.state, "report_url": url})
    return redirect(url)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    run = get_object_or_404(ImportRun.objects.select_related("created_by"), pk=pk)
    columns = ("read", "created", "updated", "unchanged", "repaired", "rejected", "warnings", "deleted")
    rows = [(kind, [counts.get(c, 0) for c in columns]) for kind, counts in run.counts.items()]
    page = Paginator(run.errors, ISSUES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "imports/detail.html", {"run": run, "columns": columns, "rows": rows, "issues": page})
