from django.apps import AppConfig


class SensorthingsConfig(AppConfig):
    name = "apps.sensorthings"
    label = "sensorthings"
    default_auto_field = "django.db.models.BigAutoField"
