from django.apps import AppConfig


class SimulationConfig(AppConfig):
    name = "apps.simulation"
    label = "simulation"
    default_auto_field = "django.db.models.BigAutoField"
