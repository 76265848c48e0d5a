"""The loader under broken input (issue 8, items 4 and 8): --replace with rejected rows, values too long
for their column, broken geometries, and no 500 from a file a reader chokes on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from django.test import Client

from apps.assets.models import UtilityAsset
from apps.buildings.models import Building
from apps.districts.models import District
from apps.imports.models import ImportRun, ImportState
from apps.imports.services import run_import
from apps.roads.models import RoadSegment
from apps.sensors.models import Sensor
from tests.conftest import ROOT
from tests.loader.hostile_files import (
    corrupt_gpkg_polygon,
    feature,
    square,
    write_geojson,
)
from tests.loader.support import LAT, LON, Uploaded, cli, last_run

pytestmark = pytest.mark.django_db


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
