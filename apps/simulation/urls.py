"""The planner's pages (the scenario API has its own routes under /api/)."""

from django.urls import path

from . import views

app_name = "simulation"
urlpatterns = [
    path("scenarios/", views.scenario_list, name="scenarios"),
    path("scenarios/new/", views.scenario_editor, name="scenario-new"),
    path("scenarios/<int:pk>/", views.scenario_editor, name="scenario"),
    path("runs/<int:pk>/", views.run_page, name="run"),
]
