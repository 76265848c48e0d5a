"""The public portal: the city's front page for everyone (map with open sensors, district conditions through
the privacy module, published scenario comparisons, open-data downloads) and its cached public endpoints."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "apps.portal"
    label = "portal"
    default_auto_field = "django.db.models.BigAutoField"
