"""Fixtures of the loader tests: a canary HTTP server, a local secret, a gis_staff client and uploads that
run their job (tests/loader/hostile_files.py builds the files)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.loader.hostile_files import Canary, canary_server
from tests.loader.support import LAT, LON, Uploaded


@pytest.fixture
def token() -> str:
    return f"CANARY-{uuid.uuid4().hex}"


@pytest.fixture
def canary(token: str) -> Iterator[Canary]:
    with canary_server(token) as server:
        yield server


@pytest.fixture
def secret(tmp_path: Path, token: str) -> Path:
    """A local file no upload may read: a CSV GDAL would happily open, its only id the token."""
    path = tmp_path / "secret.csv"
    path.write_text(f'id,WKT\n{token},"POINT ({LON} {LAT})"\n')
    return path


@pytest.fixture
def staff_client(client: Client, gis_staff) -> Client:  # noqa: ANN001
    client.force_login(gis_staff)
    return client


@pytest.fixture
def upload(staff_client: Client, run_queued_jobs):  # noqa: ANN001, ANN201
    def post(path: Path, *, as_json: bool, **fields: str) -> Uploaded:
        headers = {"HTTP_ACCEPT": "application/json"} if as_json else {}
        with open(path, "rb") as fh:
            response = staff_client.post(reverse("imports:upload"), {"file": fh, **fields}, **headers)
        assert response.status_code == (202 if as_json else 302), response.content[:300]
        (job,) = run_queued_jobs()
        return Uploaded(job, staff_client.get(reverse("job", args=[job.pk])).content.decode())

    return post
