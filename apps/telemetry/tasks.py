"""Celery tasks of telemetry: the safety net of the ingest upkeep.

The MQTT ingest worker (manage.py run_ingest) folds the queued readings into the rollups every second and
evaluates the alerts they queued every few seconds, for MQTT and HTTP ingest alike. Beat also runs this task
(every CITYTWIN_TELEMETRY_UPKEEP_S, city/settings/base.py) so that a deployment without the worker, or with
it stopped, still gets its HTTP readings into the rollups and alerts, only later. With the worker running it
finds nothing queued, or the fold lock taken, and returns at once."""

from __future__ import annotations

from celery import shared_task

from .services import telemetry_upkeep


@shared_task(name="telemetry.upkeep", ignore_result=True)
def telemetry_upkeep_task() -> None:
    telemetry_upkeep()
