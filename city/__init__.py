"""The CityTwin Django project: settings, URL routing, ASGI entry point and the Celery app."""

# Loaded with Django, so that tasks queued from the web process (shared_task.delay) use this app and its
# broker settings, not Celery's unconfigured default app.
from .celery import app as celery_app

__all__ = ["celery_app"]
