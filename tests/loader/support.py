"""Helpers of the loader tests: the CLI as a user runs it, an upload's outcome, the last import run."""

from __future__ import annotations

from dataclasses import dataclass
from io import StringIO
from pathlib import Path

from django.core.management import CommandError, call_command

from apps.imports.models import ImportRun
from apps.jobs.models import Job
from tests.loader.hostile_files import HELSINKI

LON, LAT = HELSINKI


def cli(path: Path, *args: str) -> tuple[str, str | None]:
    """Run load_city; (everything it printed, the CommandError's message or None)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("load_city", str(path), *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue() + err.getvalue(), str(exc)
    return out.getvalue() + err.getvalue(), None


@dataclass
class Uploaded:
    """An upload through the page, its load run as the job it queued: the job, and its page once done."""

    job: Job
    page: str


def last_run(name: str) -> ImportRun:
    return ImportRun.objects.filter(source_name=name).latest("created_at")
