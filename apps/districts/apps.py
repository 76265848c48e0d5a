from django.apps import AppConfig


class DistrictsConfig(AppConfig):
    name = "apps.districts"
    label = "districts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.core.data_version import track_changes

        from .models import District

        track_changes(District)
