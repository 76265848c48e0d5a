"""The loader under hostile and broken input (issue 8, items 1-4 and 8): files that try to make GDAL read
URLs or local files, CRSs that are links, zip bombs, --replace with rejected rows, values too long for
their column and broken geometries. Every file is built here, in tmp_path (tests/hostile_files.py); an
HTTP server on 127.0.0.1 counts any request the loader makes, and a local "secret" file's content must
appear in no report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from apps.assets.models import UtilityAsset
from apps.buildings.models import Building
from apps.districts.models import District
from apps.imports.exceptions import ImportFileError
from apps.imports.models import ImportRun, ImportState
from apps.imports.services import run_import
from apps.jobs.models import Job
from apps.roads.models import RoadSegment
from apps.sensors.models import Sensor
from tests.conftest import ROOT
from tests.hostile_files import (
    HELSINKI,
    MEASURE_RSS,
    Canary,
    canary_server,
    corrupt_gpkg_polygon,
    feature,
    forge_zip_sizes,
    shapefile_parts,
    square,
    vrt_xml,
    write_geojson,
    zip_with_zeros,
)

pytestmark = pytest.mark.django_db
LON, LAT = HELSINKI


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


def cli(path: Path, *args: str) -> tuple[str, str | None]:
    """Run load_city; (everything it printed, the CommandError's message or None)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("load_city", str(path), *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue() + err.getvalue(), str(exc)
    return out.getvalue() + err.getvalue(), None


@dataclass
class Uploaded:
    """An upload through the page, its load run as the job it queued: the job, and its page once done."""

    job: Job
    page: str


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


def last_run(name: str) -> ImportRun:
    return ImportRun.objects.filter(source_name=name).latest("created_at")


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


# ------------------------------------------------------------------------------------------- 4. --replace
def test_replace_never_deletes_rows_the_file_has_but_rejected(tmp_path: Path) -> None:
    first = [feature(f"b{i}", square(LON + i * 0.001, LAT), building="yes") for i in range(1, 6)]
    _, error = cli(write_geojson(tmp_path / "keep.geojson", first))
    assert error is None and Building.objects.filter(source="keep").count() == 5
    stored = {b.source_id: b.geom.wkt for b in Building.objects.filter(source="keep")}

    unclosed = square(LON + 0.002, LAT)
    unclosed["coordinates"][0][-1] = [LON + 0.0021, LAT]
    nan = square(LON + 0.003, LAT)
    nan["coordinates"][0][1] = [float("nan"), LAT]
    second = [
        feature("b1", square(LON + 0.001, LAT), building="yes", name="Renamed"),
        feature("b2", unclosed, building="yes"),
        feature("b3", nan, building="yes"),
        feature("b4", square(LON + 0.004, LAT), building="yes"),
        feature("x" * 200, square(LON + 0.006, LAT), building="yes"),
        # b5 is really gone from the file
    ]
    printed, error = cli(write_geojson(tmp_path / "keep.geojson", second), "--replace")

    assert error is None
    assert "keep.geojson layer keep row 2 (id b2), field geometry: ring 1 is not closed" in printed
    assert (
        "keep.geojson layer keep row 3 (id b3), field geometry: ring 1 has a coordinate that is not a finite" in printed
    )
    assert f"row 5 (id {'x' * 40}...), field id: is 200 characters long; at most 128 fit [rejected]" in printed
    kept = {b.source_id: b for b in Building.objects.filter(source="keep")}
    assert set(kept) == {"b1", "b2", "b3", "b4"}  # b5 deleted, the rejected b2 and b3 kept
    assert kept["b1"].name == "Renamed"
    assert kept["b2"].geom.wkt == stored["b2"] and kept["b3"].geom.wkt == stored["b3"]
    assert last_run("keep.geojson").counts["buildings"]["deleted"] == 1


def test_replace_keeps_csv_rows_rejected_while_reading_or_mapping(tmp_path: Path) -> None:
    path = tmp_path / "lamps.csv"
    rows = [f"lamp-{i},street_lamp,POINT ({LON + i * 0.001} {LAT})" for i in range(1, 6)]
    path.write_text("id,kind,wkt\n" + "\n".join(rows) + "\n")
    run_import(path=path, srid=4326)
    assert UtilityAsset.objects.filter(source="lamps").count() == 5

    path.write_text(
        "id,kind,wkt\n"
        f"lamp-1,street_lamp,POINT ({LON + 0.001} {LAT})\n"
        "lamp-2,street_lamp,POINT (24.9\n"  # WKT that does not parse
        f"lamp-3,,POINT ({LON + 0.003} {LAT})\n"  # no kind: an asset needs one
        f"lamp-4,street_lamp,POINT ({LON + 0.004} {LAT})\n"
    )
    result = run_import(path=path, srid=4326, replace=True)

    assert {(i.feature_id, i.field) for i in result.issues if i.action == "rejected"} == {
        ("lamp-2", "wkt"),
        ("lamp-3", "kind"),
    }
    assert result.counts["assets"].deleted == 1
    assert set(UtilityAsset.objects.filter(source="lamps").values_list("source_id", flat=True)) == {
        "lamp-1",
        "lamp-2",
        "lamp-3",
        "lamp-4",
    }


def test_replace_deletes_nothing_when_a_rejected_row_has_no_readable_id(tmp_path: Path) -> None:
    first = [feature(f"u{i}", square(LON + i * 0.001, LAT), building="yes") for i in range(1, 4)]
    run_import(path=write_geojson(tmp_path / "unknown.geojson", first))
    # u3 is gone, and one feature is not a Feature at all: it could be u3, so nothing may be deleted.
    second = [first[0], first[1], 42]
    printed, error = cli(write_geojson(tmp_path / "unknown.geojson", second), "--replace")

    assert error is None
    assert (
        "unknown.geojson layer unknown row 3, field feature: is not a GeoJSON Feature object: 42 [rejected]" in printed
    )
    assert "field --replace: not applied, nothing was deleted: row 3 was rejected and its id cannot be read" in printed
    assert Building.objects.filter(source="unknown").count() == 3

    sensors = tmp_path / "probes.csv"
    sensors.write_text("code,kind,lon,lat\np-1,traffic,24.94,60.17\np-2,traffic,24.941,60.17\n")
    run_import(path=sensors)
    sensors.write_text("code,kind,lon,lat\np-1,traffic,24.94,60.17\n,traffic,24.942,60.17\n")
    result = run_import(path=sensors, replace=True)
    assert result.counts["sensors"].deleted == 0 and any(i.field == "--replace" for i in result.issues)
    assert Sensor.objects.filter(source="probes").count() == 2


# -------------------------------------------------------------------- 8. long values and broken geometry
def test_values_too_long_for_their_column_are_per_row(
    tmp_path: Path, staff_client: Client, upload: Callable[..., Uploaded]
) -> None:
    run_import(path=write_geojson(tmp_path / "long.geojson", [feature("k1", square(LON, LAT), building="office")]))
    unclosed = square(LON + 0.002, LAT)
    unclosed["coordinates"][0].pop()
    features = [
        feature("k1", square(LON, LAT), building="u" * 100),  # use: varchar(64)
        feature("k2", square(LON + 0.001, LAT), building="yes", name="n" * 300),  # name: varchar(255)
        feature("i" * 129, square(LON + 0.002, LAT), building="yes"),  # source_id: varchar(128)
        feature("k4", unclosed, building="yes"),
        feature(
            "k5", {"type": "Polygon", "coordinates": [[[LON, LAT], [LON, float("nan")], [LON + 1e-4, LAT], [LON, LAT]]]}
        ),
        feature("k6", square(LON + 0.005, LAT), building="yes"),
    ]
    path = write_geojson(tmp_path / "long.geojson", features)

    printed, error = cli(path, "--dry-run")
    assert error is None
    for line in (
        "long.geojson layer long row 1 (id k1), field use: is 100 characters long; cut to the 64 the column holds [warning]",
        "long.geojson layer long row 2 (id k2), field name: is 300 characters long; cut to the 255 the column holds [warning]",
        f"long.geojson layer long row 3 (id {'i' * 40}...), field id: is 129 characters long; at most 128 fit [rejected]",
        "long.geojson layer long row 4 (id k4), field geometry: ring 1 is not closed (its last position differs from its first) [rejected]",
        "long.geojson layer long row 5 (id k5), field geometry: ring 1 has a coordinate that is not a finite number (NaN or infinity) [rejected]",
        "Dry run: nothing was written.",
    ):
        assert line in printed
    assert Building.objects.get(source="long", source_id="k1").use == "office"  # the dry run changed nothing

    uploaded = upload(path, as_json=True)
    assert uploaded.job.state == "succeeded"
    run = ImportRun.objects.get(pk=uploaded.job.result["import_run"])
    assert run.state == ImportState.SUCCEEDED
    assert run.counts["buildings"]["rejected"] == 3 and run.counts["buildings"]["warnings"] == 2
    stored = {b.source_id: b for b in Building.objects.filter(source="long")}
    assert set(stored) == {"k1", "k2", "k6"}
    assert stored["k1"].use == "u" * 64 and stored["k2"].name == "n" * 255
    uploaded = upload(path, as_json=False, dry_run="on")
    assert uploaded.job.state == "succeeded"
    assert "is 129 characters long; at most 128 fit" in staff_client.get(uploaded.job.result["url"]).content.decode()


def test_long_identifiers_reject_the_row_and_out_of_range_numbers_are_dropped(tmp_path: Path) -> None:
    sensors = tmp_path / "codes.csv"
    sensors.write_text(f"code,kind,lon,lat\nok-1,traffic,24.94,60.17\n{'c' * 80},traffic,24.941,60.17\n")
    result = run_import(path=sensors)
    (bad,) = [i for i in result.issues if i.action == "rejected"]
    assert (bad.row, bad.field, bad.reason) == (3, "code", "is 80 characters long; at most 64 fit")
    assert list(Sensor.objects.filter(source="codes").values_list("code", flat=True)) == ["ok-1"]

    district = feature("d1", square(LON, LAT, 0.01), name="Long code", code="9" * 70)
    result = run_import(path=write_geojson(tmp_path / "district_codes.geojson", [district]), kind="districts")
    assert [(i.field, i.action) for i in result.issues] == [("code", "rejected")]
    assert not District.objects.filter(source="district_codes").exists()

    line = {"type": "LineString", "coordinates": [[LON, LAT], [LON + 0.001, LAT]]}
    roads = [
        # One-way, so that lanes are stored as given (a two-way road's are halved) under the row's own id.
        feature("r1", line, highway="residential", lanes=100000, oneway="yes"),  # lanes: smallint
        feature("r2", line, highway="h" * 40, lanes="1" + "0" * 400, oneway="yes"),  # varchar(32); a huge number
    ]
    printed, error = cli(write_geojson(tmp_path / "wide_roads.geojson", roads), "--kind", "roads")
    assert error is None
    assert "row 1 (id r1), field lanes: 100000.0 is outside 0..32767; ignored [warning]" in printed
    assert "row 2 (id r2), field lanes: '1000000000000000000000000000000000000000' is too large; ignored" in printed
    assert "row 2 (id r2), field highway: is 40 characters long; cut to the 32 the column holds" in printed
    stored = {r.source_id: r for r in RoadSegment.objects.filter(source="wide_roads")}
    assert stored["r1"].lanes is None and stored["r2"].highway == "h" * 32


def test_broken_geometries_from_gdal_formats_reject_their_row(tmp_path: Path) -> None:
    path = tmp_path / "broken.gpkg"
    boxes = [shapely.box(LON + i * 0.001, LAT, LON + i * 0.001 + 0.0005, LAT + 0.0005) for i in range(3)]
    gpd.GeoDataFrame({"id": ["g1", "g2", "g3"], "building": ["yes"] * 3}, geometry=boxes, crs=4326).to_file(
        path, layer="buildings", layer_options={"SPATIAL_INDEX": "NO"}
    )
    corrupt_gpkg_polygon(path, "buildings", 1, "unclosed")
    corrupt_gpkg_polygon(path, "buildings", 2, "nan")

    result = run_import(path=path)

    rejected = {i.feature_id: i.reason for i in result.issues if i.action == "rejected"}
    assert rejected["g1"].startswith("cannot be read:") and "closed" in rejected["g1"]
    assert rejected["g2"] == "has a coordinate that is not a finite number (NaN or infinity)"
    assert list(Building.objects.filter(source="broken").values_list("source_id", flat=True)) == ["g3"]


# ------------------------------------------------------------------------ no 500s, but logged tracebacks
def test_a_file_its_reader_chokes_on_is_a_file_error(
    tmp_path: Path,
    staff_client: Client,
    upload: Callable[..., Uploaded],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever a reader library throws on a hostile file (here: pandas, made to fail) is the file's
    problem, answered 400 with what went wrong; the traceback still goes to the log, in case the bug is ours."""

    def choke(*args: object, **kwargs: object) -> None:
        raise ValueError("Buffer overflow caught - possible malformed input file.")

    monkeypatch.setattr("apps.imports.readers.pd.read_csv", choke)
    path = tmp_path / "choke.csv"
    path.write_text("code,kind,lon,lat\nx,traffic,24.94,60.17\n")

    for as_json in (True, False):
        uploaded = upload(path, as_json=as_json, dry_run="on")
        assert uploaded.job.state == "failed"
        assert "choke.csv: cannot be read as CSV: Buffer overflow caught" in uploaded.page
    monkeypatch.setattr("apps.imports.readers.read_csv", choke)
    uploaded = upload(path, as_json=True, dry_run="on")
    assert uploaded.job.error == (
        "choke.csv: cannot be read (ValueError: Buffer overflow caught - possible malformed input file.)"
    )
    assert last_run("choke.csv").state == ImportState.FAILED
    assert any(r.exc_info and "reading choke.csv failed" in r.getMessage() for r in caplog.records)


def test_messages_do_not_reveal_server_paths(
    tmp_path: Path, staff_client: Client, upload: Callable[..., Uploaded]
) -> None:
    path = tmp_path / "garbage.osm.pbf"
    path.write_bytes(b"\x00\x00\x00\x0dnot a pbf at all" * 64)

    uploaded = upload(path, as_json=True, dry_run="on")

    assert uploaded.job.state == "failed"
    detail = uploaded.job.error
    assert detail.startswith("garbage.osm.pbf: is not a readable OSM PBF file")
    assert "/uploads/" not in detail and str(ROOT) not in detail
