"""URL routing: pages, the API (with its OpenAPI schema and docs), vector tiles, the admin."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.accounts.forms import AdminLoginForm, LoginForm
from apps.core.health import healthz
from apps.jobs.views import job_page

admin.site.login_form = AdminLoginForm

handler404 = "apps.core.views.not_found"
handler403 = "apps.core.views.forbidden"

urlpatterns = [
    path("", include("apps.portal.urls")),  # /: the public front page; /published/<id>/
    path("", include("apps.maps.urls")),
    path("", include("apps.simulation.urls")),  # /scenarios/, /runs/<id>/: the planner's pages
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include("city.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("tiles/", include("apps.tiles.urls")),
    path("ogc/", include("apps.ogc.urls")),  # OGC API - Features and Tiles
    path("sta/v1.1/", include("apps.sensorthings.urls")),  # SensorThings API 1.1
    path("imports/", include("apps.imports.urls")),
    path("jobs/<int:pk>/", job_page, name="job"),
    path("admin/", admin.site.urls),
    path("healthz/", healthz, name="healthz"),
]
