from django.apps import AppConfig


class BuildingsConfig(AppConfig):
    name = "apps.buildings"
    label = "buildings"
    default_auto_field = "django.db.models.BigAutoField"
