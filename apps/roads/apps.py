from django.apps import AppConfig


class RoadsConfig(AppConfig):
    name = "apps.roads"
    label = "roads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.core.data_version import track_changes

        from .models import RoadNode, RoadSegment

        track_changes(RoadNode, RoadSegment)
