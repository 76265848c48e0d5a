from django.urls import path

from . import views

app_name = "imports"
urlpatterns = [
    path("upload/", views.upload, name="upload"),
    path("<int:pk>/", views.detail, name="detail"),
]
