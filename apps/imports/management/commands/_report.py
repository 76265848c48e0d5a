"""The report every import command prints: counts per kind, then the first issues, then the verdict."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.imports.services import ImportResult

MAX_PRINTED_ISSUES = 50
COLUMNS = ("read", "created", "updated", "unchanged", "repaired", "rejected", "warnings", "deleted")


def print_import_report(
    command: BaseCommand,
    result: ImportResult | Any,
    *,
    dry_run: bool,
    columns: tuple[str, ...] = COLUMNS,
    done: str = "Loaded.",
    suffix: str = "",
) -> None:
    """`result`: anything with counts (kind -> KindCounts), issues (RowIssue) and run (ImportRun)."""
    header = f"{'kind':<12}" + "".join(f"{c:>10}" for c in columns)
    command.stdout.write(header)
    command.stdout.write("-" * len(header))
    for kind, c in result.counts.items():
        command.stdout.write(f"{kind:<12}" + "".join(f"{getattr(c, col):>10}" for col in columns))
    for issue in result.issues[:MAX_PRINTED_ISSUES]:
        style = command.style.ERROR if issue.action == "rejected" else command.style.WARNING
        command.stdout.write(style(str(issue)))
    run_id = result.run.pk
    if len(result.issues) > MAX_PRINTED_ISSUES:
        command.stdout.write(f"... and {len(result.issues) - MAX_PRINTED_ISSUES} more (see import run #{run_id})")
    verdict = "Dry run: nothing was written." if dry_run else done
    command.stdout.write(command.style.SUCCESS(f"{verdict} Import run #{run_id}{suffix}."))
