"""Pages: attribution everywhere, the map page's assets are ours, the upload page and its roles."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from apps.buildings.models import Building
from apps.imports.models import ImportRun

pytestmark = pytest.mark.django_db
ATTRIBUTION = "© OpenStreetMap contributors"


@pytest.mark.parametrize("url", ["/", "/map/", "/accounts/login/"])
def test_every_page_shows_the_osm_attribution_and_loads_nothing_remote(client, url: str) -> None:  # noqa: ANN001
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert ATTRIBUTION in html and "openstreetmap.org/copyright" in html
    # Scripts and styles come from our own /static/ only (CSP: 'self').
    for src in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html):
        assert src.startswith(("/static/", "data:", "/")) and not src.startswith("//"), src
    assert "<script>" not in html  # no inline script: the CSP would block it


def test_security_headers(client) -> None:  # noqa: ANN001
    response = client.get("/map/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_map_page_uses_vendored_maplibre_and_the_city_extent(client) -> None:  # noqa: ANN001
    html = client.get("/map/").content.decode()
    assert "/static/vendor/maplibre-gl/maplibre-gl.js" in html
    config = re.search(r'<script id="map-config" type="application/json">(.*?)</script>', html).group(1)
    import json

    bounds = json.loads(config)["bounds"]
    assert 24.93 < bounds[0] < bounds[2] < 24.96 and 60.16 < bounds[1] < bounds[3] < 60.18


def test_home_counts(client) -> None:  # noqa: ANN001
    html = client.get("/").content.decode()
    assert f"{Building.objects.count()}" in html


def test_upload_needs_a_data_editor(client, planner) -> None:  # noqa: ANN001
    response = client.get("/imports/upload/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(planner)
    assert client.get("/imports/upload/").status_code == 403


def test_upload_queues_the_load_as_a_job_that_leads_to_the_report(client, gis_staff, samples, run_queued_jobs) -> None:  # noqa: ANN001
    client.force_login(gis_staff)
    with open(samples / "invalid_polygons.geojson", "rb") as fh:
        response = client.post("/imports/upload/", {"file": fh, "kind": "buildings", "dry_run": ""})
    assert response.status_code == 302 and response["Location"].startswith("/jobs/")
    assert not Building.objects.filter(source="invalid_polygons").exists()  # queued, not loaded in the request
    page = client.get(response["Location"]).content.decode()
    assert "Loading invalid_polygons.geojson" in page and "waiting for a worker" in page
    (job,) = run_queued_jobs()
    assert (job.state, job.progress, job.owner) == ("succeeded", 100.0, gis_staff)
    run = ImportRun.objects.get(pk=job.result["import_run"])
    assert run.created_by == gis_staff and run.source_name == "invalid_polygons.geojson"
    assert run.options["job"] == job.pk
    assert Building.objects.filter(source="invalid_polygons").count() == 3
    logged = [line.split(" ", 1)[1] for line in job.log.splitlines()]  # after the time stamp
    assert logged[0] == "reading" and logged[1].startswith("loading buildings (") and logged[-2] == "done"
    assert logged[-1] == run.message  # the summary
    page = client.get(response["Location"]).content.decode()
    assert "Open the import report" in page and "loading buildings (" in page  # the log, on the job page
    report = client.get(job.result["url"]).content.decode()
    assert "Self-intersection" in report and "cannot be repaired into a Polygon" in report
    assert "not-a-number" in report  # the warning on field height


def test_a_file_the_loader_refuses_fails_its_job_with_the_reason(client, gis_staff, samples, run_queued_jobs) -> None:  # noqa: ANN001
    client.force_login(gis_staff)
    with open(samples / "no_crs_buildings.zip", "rb") as fh:
        response = client.post("/imports/upload/", {"file": fh}, HTTP_ACCEPT="application/json")
    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "queued" and body["job_url"] == f"/jobs/{body['job']}/"
    (job,) = run_queued_jobs()
    assert job.state == "failed" and "no coordinate reference system; pass --srid" in job.error
    assert "no coordinate reference system" in client.get(body["job_url"]).content.decode()


def test_what_can_be_told_at_once_is_answered_in_the_request(client, gis_staff, tmp_path) -> None:  # noqa: ANN001
    client.force_login(gis_staff)
    odd = tmp_path / "city.dxf"
    odd.write_text("0\nSECTION\n")
    with open(odd, "rb") as fh:
        response = client.post("/imports/upload/", {"file": fh}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "unsupported file type" in response.json()["detail"]
    with open(odd, "rb") as fh:
        page = client.post("/imports/upload/", {"file": fh, "srid": "3067"})
    assert page.status_code == 400 and "unsupported file type" in page.content.decode()


@override_settings(CITYTWIN_JOBS_PER_USER=1)
def test_the_cap_on_running_jobs_is_a_429(client, gis_staff, samples, run_queued_jobs) -> None:  # noqa: ANN001
    client.force_login(gis_staff)
    for expected in (202, 429):
        with open(samples / "districts.geojson", "rb") as fh:
            response = client.post("/imports/upload/", {"file": fh}, HTTP_ACCEPT="application/json")
        assert response.status_code == expected
    assert "at most 1" in response.json()["detail"]
    run_queued_jobs()  # the first one: its upload is removed when it has run


@override_settings(CITYTWIN_MAX_UPLOAD_MB=0)
def test_huge_upload_is_413_and_nothing_is_stored(client, gis_staff, samples) -> None:  # noqa: ANN001
    client.force_login(gis_staff)
    before = Building.objects.count()
    with open(samples / "two_layers.gpkg", "rb") as fh:
        response = client.post("/imports/upload/", {"file": fh}, HTTP_ACCEPT="application/json")
    assert response.status_code == 413
    assert "upload limit of 0 MB" in response.json()["detail"]
    assert Building.objects.count() == before


def test_upload_csrf_is_enforced(gis_staff, samples) -> None:  # noqa: ANN001
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(gis_staff)
    with open(samples / "districts.geojson", "rb") as fh:
        assert strict.post("/imports/upload/", {"file": fh}).status_code == 403


def test_admin_geometry_widget_is_local(client, admin_user) -> None:  # noqa: ANN001
    client.force_login(admin_user)
    building = Building.objects.first()
    html = client.get(f"/admin/buildings/building/{building.pk}/change/").content.decode()
    assert "/static/vendor/ol/ol.js" in html and "/static/js/admin-map.js" in html
    assert "cdn.jsdelivr" not in html and "<script>" not in html


def test_healthz(client) -> None:  # noqa: ANN001
    data = client.get("/healthz/").json()
    assert data["status"] == "ok" and data["postgis"].startswith("3.")
