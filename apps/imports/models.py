"""Lineage of every load: who loaded which file (name + sha256) with which options, what it created,
updated and rejected, and the per-row errors. Also the job row the upload page polls."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ImportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ImportRun(models.Model):
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="import_runs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=ImportState.choices, default=ImportState.QUEUED)
    dry_run = models.BooleanField(default=False)
    source_name = models.CharField(max_length=255, help_text="The file's name as given.")
    source_sha256 = models.CharField(max_length=64, blank=True)
    source_size = models.BigIntegerField(default=0)
    options = models.JSONField(default=dict, blank=True)
    # Per kind (buildings, roads, ...): {"created": n, "updated": n, "rejected": n, "repaired": n, "deleted": n}
    counts = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True, help_text="Per-row problems: file, layer, row, field, reason.")
    progress = models.FloatField(default=0.0)
    message = models.TextField(blank=True, help_text="A human-readable summary, or why the run failed.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import #{self.pk} {self.source_name} ({self.state})"

    def total(self, key: str) -> int:
        return sum(int(c.get(key, 0)) for c in self.counts.values())
