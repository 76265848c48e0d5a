"""/sta/v1.1/: the root document and every resource path below it (one view parses the path)."""

from django.urls import path

from .views import SensorThingsView

app_name = "sensorthings"

urlpatterns = [
    path("", SensorThingsView.as_view(), name="root"),
    path("<path:resource>", SensorThingsView.as_view(), name="resource"),
]
