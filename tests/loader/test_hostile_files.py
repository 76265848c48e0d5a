"""The loader under hostile files (issue 8, items 1-3): files that try to make GDAL read URLs or local
files, CRSs that are links, zip bombs. Every file is built here, in tmp_path (tests/loader/hostile_files.py); an
HTTP server on 127.0.0.1 counts any request the loader makes, and a local "secret" file's content must
appear in no report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pyogrio
import pytest
from django.test import Client
from django.urls import reverse

from apps.imports.exceptions import ImportFileError
from apps.imports.models import ImportState
from apps.imports.services import run_import
from tests.conftest import ROOT
from tests.loader.hostile_files import (
    MEASURE_RSS,
    Canary,
    feature,
    forge_zip_sizes,
    shapefile_parts,
    square,
    vrt_xml,
    write_geojson,
    zip_with_zeros,
)
from tests.loader.support import LAT, LON, Uploaded, cli, last_run

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------ 1. GDAL and its drivers
def _hostile_geojson(name: str, tmp_path: Path, canary: Canary, secret: Path) -> Path:
    bodies = {
        "vrt-curl.geojson": "{" + vrt_xml(f"/vsicurl/{canary.url}/buildings.geojson"),
        "vrt-local.geojson": "{" + vrt_xml(str(secret), layer="secret"),
        "vrt-local.json": "{\n" + vrt_xml(f"CSV:{secret}", layer="secret"),
        "gdalg.geojson": json.dumps(
            {
                "type": "gdal_streamed_alg",
                "command_line": f"gdal vector pipeline ! read /vsicurl/{canary.url}/a.geojson",
            }
        ),
    }
    path = tmp_path / name
    path.write_text(bodies[name])
    return path


@pytest.mark.parametrize(
    ("name", "refusal"),
    [
        ("vrt-curl.geojson", "does not look like a GeoJSON file: it is not valid JSON"),
        ("vrt-local.geojson", "does not look like a GeoJSON file: it is not valid JSON"),
        ("vrt-local.json", "does not look like a GeoJSON file: it is not valid JSON"),
        ("gdalg.geojson", "is not GeoJSON: expected a FeatureCollection, Feature or geometry"),
    ],
)
def test_geojson_that_is_really_vrt_or_a_gdal_pipeline_reads_nothing(
    name: str,
    refusal: str,
    tmp_path: Path,
    canary: Canary,
    secret: Path,
    token: str,
    staff_client: Client,
    upload: Callable[..., Uploaded],
) -> None:
    path = _hostile_geojson(name, tmp_path, canary, secret)

    printed, error = cli(path, "--dry-run", "--kind", "buildings")
    assert error is not None and error.startswith(f"{name}: {refusal}")
    run = last_run(name)
    assert run.state == ImportState.FAILED and run.message == error
    for as_json in (True, False):
        uploaded = upload(path, as_json=as_json, kind="buildings", dry_run="on")
        assert uploaded.job.state == "failed" and refusal in uploaded.job.error
        assert refusal in uploaded.page
    detail = staff_client.get(reverse("imports:detail", args=[last_run(name).pk]))
    assert canary.hits == []
    for text in (printed, error, run.message, json.dumps(run.errors), detail.content.decode()):
        assert token not in text


def test_gdal_reads_only_geopackage_and_shapefile(
    tmp_path: Path, canary: Canary, secret: Path, token: str, samples: Path
) -> None:
    vrt = vrt_xml(f"/vsicurl/{canary.url}/x.geojson")
    (tmp_path / "plain-vrt.gpkg").write_text(vrt)
    (tmp_path / "sqlite-vrt.gpkg").write_bytes(b"SQLite format 3\x00" + vrt.encode())
    with zipfile.ZipFile(tmp_path / "vrt-shp.zip", "w") as zf:
        zf.writestr("a.shp", vrt)
        zf.writestr("b.shp", b"\x00\x00\x27\x0a" + bytes(20) + vrt.encode())
        zf.writestr("b.shx", b"\x00\x00\x27\x0a" + bytes(96))
        zf.writestr("b.vrt", vrt_xml(str(secret), layer="secret"))
    for name in ("plain-vrt.gpkg", "sqlite-vrt.gpkg", "vrt-shp.zip"):
        printed, error = cli(tmp_path / name, "--dry-run", "--kind", "buildings")
        assert error is not None and token not in printed + error

    # After the loader has used GDAL, GDAL has exactly its two drivers: even asked directly, it opens no
    # VRT (which would fetch the URL), no GeoJSON, nothing else.
    run_import(path=samples / "two_layers.gpkg", dry_run=True)
    assert set(pyogrio.list_drivers()) == {"GPKG", "ESRI Shapefile"}
    (tmp_path / "direct.vrt").write_text(vrt)
    with pytest.raises(pyogrio.errors.DataSourceError, match="not recognized"):
        pyogrio.read_info(tmp_path / "direct.vrt")
    assert canary.hits == []


# --------------------------------------------------------------------------------------- 2. the crs member
def test_crs_must_name_a_code_and_is_never_fetched(
    tmp_path: Path, canary: Canary, staff_client: Client, upload: Callable[..., Uploaded]
) -> None:
    x, y = 385600.0, 6671900.0  # central Helsinki in EPSG:3067
    ring = [[x, y], [x + 20, y], [x + 20, y + 20], [x, y + 20], [x, y]]
    building = [feature("c1", {"type": "Polygon", "coordinates": [ring]}, building="yes")]
    for i, name in enumerate(
        (
            "EPSG:3067",
            "urn:ogc:def:crs:EPSG::3067",
            "urn:ogc:def:crs:EPSG:6.3:3067",
            "http://www.opengis.net/def/crs/EPSG/0/3067",
        )
    ):
        path = write_geojson(tmp_path / f"ok{i}.geojson", building, crs={"type": "name", "properties": {"name": name}})
        assert run_import(path=path, dry_run=True).counts["buildings"].created == 1, name
    path = write_geojson(tmp_path / "epsg-type.geojson", building, crs={"type": "EPSG", "properties": {"code": 3067}})
    assert run_import(path=path, dry_run=True).counts["buildings"].created == 1
    lonlat = [feature("c2", square(LON, LAT), building="yes")]
    path = write_geojson(
        tmp_path / "crs84.geojson",
        lonlat,
        crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
    )
    assert run_import(path=path, dry_run=True).counts["buildings"].created == 1

    fetched = {
        "link.geojson": {"type": "link", "properties": {"href": f"{canary.url}/crs.wkt", "type": "ogcwkt"}},
        "url.geojson": {"type": "url", "properties": {"url": f"{canary.url}/crs"}},
        "url-name.geojson": {"type": "name", "properties": {"name": f"{canary.url}/def/crs/EPSG/0/3067"}},
    }
    for name, crs in fetched.items():
        path = write_geojson(tmp_path / name, building, crs=crs)
        printed, error = cli(path, "--dry-run")
        assert error is not None and "does not name an EPSG code" in error and "--srid" in error, name
        uploaded = upload(path, as_json=True, dry_run="on")
        assert uploaded.job.state == "failed" and "does not name an EPSG code" in uploaded.job.error
    # --srid says what the coordinates are; the file's link is then never looked at.
    result = run_import(path=tmp_path / "link.geojson", srid=3067, kind="buildings", dry_run=True)
    assert result.counts["buildings"].created == 1
    assert canary.hits == []


# ------------------------------------------------------------------------------------------ 3. zip bombs
def test_zip_with_understated_sizes_is_refused_with_the_member_named(
    tmp_path: Path, staff_client: Client, upload: Callable[..., Uploaded]
) -> None:
    path = zip_with_zeros(tmp_path / "forged.zip", "big.dbf", 64 * 1024**2, others={"big.shp": b"x"})
    forge_zip_sizes(path, "big.dbf", file_size=1000)  # the headers say 1,000 bytes; there are 64 MiB

    with pytest.raises(ImportFileError) as excinfo:
        run_import(path=path, dry_run=True)
    assert excinfo.value.message.startswith("forged.zip/big.dbf: cannot be unpacked: Bad CRC-32")
    uploaded = upload(path, as_json=True, dry_run="on")
    assert uploaded.job.state == "failed"
    assert uploaded.job.error.startswith("forged.zip/big.dbf: cannot be unpacked")
    assert last_run("forged.zip").state == ImportState.FAILED


def test_zip_member_expanding_past_the_ratio_is_refused(
    tmp_path: Path, staff_client: Client, upload: Callable[..., Uploaded]
) -> None:
    parts = shapefile_parts(tmp_path)
    path = zip_with_zeros(
        tmp_path / "bomb.zip", "b.dbf", 64 * 1024**2, others={k: v for k, v in parts.items() if k != "b.dbf"}
    )

    with pytest.raises(ImportFileError, match=r"^bomb.zip/b.dbf: expands more than 200 times its compressed size"):
        run_import(path=path, dry_run=True)
    uploaded = upload(path, as_json=False, dry_run="on")
    assert uploaded.job.state == "failed" and "possible zip bomb" in uploaded.page


def test_encrypted_or_bzip2_members_are_refused(tmp_path: Path) -> None:
    parts = shapefile_parts(tmp_path)
    encrypted = tmp_path / "encrypted.zip"
    with zipfile.ZipFile(encrypted, "w") as zf:
        for name, content in parts.items():
            zf.writestr(name, content)
    forge_zip_sizes(encrypted, "b.shp", flag_bits=0x1)
    with pytest.raises(ImportFileError, match=r"^encrypted.zip/b.shp: is encrypted"):
        run_import(path=encrypted, dry_run=True)

    bzip2 = tmp_path / "bzip2.zip"
    with zipfile.ZipFile(bzip2, "w", compression=zipfile.ZIP_BZIP2) as zf:
        for name, content in parts.items():
            zf.writestr(name, content)
    with pytest.raises(ImportFileError, match=r"^bzip2.zip/b\.\w+: uses compression method 12"):
        run_import(path=bzip2, dry_run=True)

    # The same Shapefile, deflated, loads: the refusals are about the zip, not the data.
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            zf.writestr(name, content)
    assert run_import(path=plain, dry_run=True).counts["buildings"].created == 1


def test_unpacking_a_zip_bomb_keeps_memory_flat(tmp_path: Path) -> None:
    """In a fresh process (peak RSS is per process): neither a forged nor an honest 384 MiB member of zeros
    is held in memory while it is checked (it was, whole, before: the process grew by the member's size)."""
    forged = zip_with_zeros(tmp_path / "forged.zip", "a.dbf", 384 * 1024**2, others={"a.shp": b"x"})
    forge_zip_sizes(forged, "a.dbf", file_size=100)
    honest = zip_with_zeros(tmp_path / "honest.zip", "a.dbf", 384 * 1024**2, others={"a.shp": b"x"})
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "city.settings.test"}
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE_RSS, str(forged), str(honest)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, measured in result.items():
        assert measured["grew_kib"] < 64 * 1024, (name, measured)
        assert measured["outcome"].startswith("refused: "), (name, measured)
