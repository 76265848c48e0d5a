"""The one job model for all long work (imports, scenario runs): who asked, what state it is in, how far
it got, what went wrong in words a person can act on, a log, and the lease that keeps a redelivered job
from running twice at once (see services.execute)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)
FINAL_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class Job(models.Model):
    kind = models.CharField(max_length=32, help_text="What the job does, e.g. 'import' or 'scenario_run'.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    progress = models.FloatField(default=0.0, help_text="Percent done, 0-100.")
    status_text = models.CharField(max_length=200, blank=True, help_text="What is happening now.")
    error = models.TextField(blank=True, help_text="Why the job failed, for the person who started it.")
    log = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    task_name = models.CharField(max_length=100, blank=True, help_text="The Celery task that runs it (to re-queue).")
    task_id = models.CharField(max_length=64, blank=True, help_text="The Celery task id of the last enqueue.")
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=128, blank=True, help_text="The worker holding the lease.")
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "state"], name="jobs_owner_state"),
            models.Index(fields=["state", "lease_until"], name="jobs_state_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} job #{self.pk} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES
