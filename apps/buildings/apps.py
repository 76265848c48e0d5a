from django.apps import AppConfig


class BuildingsConfig(AppConfig):
    name = "apps.buildings"
    label = "buildings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.core.data_version import track_changes

        from .models import Building

        track_changes(Building)
