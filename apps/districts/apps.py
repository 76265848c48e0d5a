from django.apps import AppConfig


class DistrictsConfig(AppConfig):
    name = "apps.districts"
    label = "districts"
    default_auto_field = "django.db.models.BigAutoField"
