from django.apps import AppConfig


class EnergyConfig(AppConfig):
    name = "apps.energy"
    label = "energy"
    default_auto_field = "django.db.models.BigAutoField"
