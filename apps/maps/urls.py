from django.urls import path

from . import views

app_name = "maps"
urlpatterns = [
    path("", views.home, name="home"),
    path("map/", views.city_map, name="map"),
    path("live/", views.live_map, name="live"),
]
