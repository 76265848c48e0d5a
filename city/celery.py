"""The Celery app (long jobs: imports today, SUMO scenarios later). Settings come from Django's, CELERY_*."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city.settings.dev")

app = Celery("city")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
