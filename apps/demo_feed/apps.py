from django.apps import AppConfig


class DemoFeedConfig(AppConfig):
    name = "apps.demo_feed"
    label = "demo_feed"
    default_auto_field = "django.db.models.BigAutoField"
