"""The REST API's router: one entry per layer; each app owns its viewset."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from apps.assets.api.views import UtilityAssetViewSet
from apps.buildings.api.views import BuildingViewSet
from apps.districts.api.views import DistrictViewSet
from apps.imports.api.views import ImportRunViewSet
from apps.jobs.api.views import JobViewSet
from apps.privacy.api.views import PublicAggregatesView, PublicPartitionView
from apps.roads.api.views import RoadNodeViewSet, RoadSegmentViewSet
from apps.sensors.api.views import SensorViewSet
from apps.simulation.api.views import RunViewSet, ScenarioViewSet
from apps.telemetry.api.sensors import SensorReadingsViewSet
from apps.telemetry.api.views import AlertViewSet, IngestReadingsView, QuarantineViewSet

router = DefaultRouter()
router.register("buildings", BuildingViewSet, basename="building")
router.register("road-segments", RoadSegmentViewSet, basename="road-segment")
router.register("road-nodes", RoadNodeViewSet, basename="road-node")
router.register("utility-assets", UtilityAssetViewSet, basename="utility-asset")
router.register("districts", DistrictViewSet, basename="district")
router.register("sensors", SensorViewSet, basename="sensor")
router.register("sensors", SensorReadingsViewSet, basename="sensor-readings")  # latest/, readings/
router.register("imports", ImportRunViewSet, basename="import-run")
router.register("alerts", AlertViewSet, basename="alert")
router.register("quarantine", QuarantineViewSet, basename="quarantine")
router.register("jobs", JobViewSet, basename="job")
router.register("scenarios", ScenarioViewSet, basename="scenario")
router.register("runs", RunViewSet, basename="run")

urlpatterns = [
    path("ingest/readings/", IngestReadingsView.as_view(), name="ingest-readings"),
    # `?format=csv` downloads the aggregates as CSV (no `.csv` suffix routes: one URL per resource)
    path("public/aggregates/", PublicAggregatesView.as_view(), name="public-aggregates"),
    path("public/partitions/<str:partition>/", PublicPartitionView.as_view(), name="public-partition"),
    path("public/", include("apps.portal.api_urls")),  # open to everyone, cached
    *router.urls,
]
