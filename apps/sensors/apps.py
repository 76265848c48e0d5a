from django.apps import AppConfig


class SensorsConfig(AppConfig):
    name = "apps.sensors"
    label = "sensors"
    default_auto_field = "django.db.models.BigAutoField"
