"""/api/public/...: the portal's open endpoints (included by city/api_urls.py)."""

from django.urls import path, re_path

from . import api
from .selectors import CONDITION_DATASETS

urlpatterns = [
    path("sensors/", api.PublicSensorsView.as_view(), name="public-sensors"),
    path("comparisons/", api.PublishedComparisonsView.as_view(), name="public-comparisons"),
    path("comparisons/<int:pk>/difference/", api.ComparisonDifferenceView.as_view(), name="public-difference"),
    re_path(
        rf"^conditions/(?P<dataset>{'|'.join(CONDITION_DATASETS)})/$",
        api.DistrictConditionsView.as_view(),
        name="public-conditions",
    ),
]
