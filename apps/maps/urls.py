from django.urls import path

from . import views

app_name = "maps"
urlpatterns = [
    path("map/", views.city_map, name="map"),
    path("live/", views.live_map, name="live"),
    path("live/quarantine/", views.quarantine_page, name="quarantine"),
]
