"""load_city and the import service on the sample files (fixtures/samples/README.md describes each)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pyproj import Transformer

from apps.buildings.models import Building, HeightSource
from apps.districts.models import District
from apps.imports import loading, services
from apps.imports import sql as import_sql
from apps.imports.exceptions import ImportFileError
from apps.imports.models import ImportRun, ImportState
from apps.imports.services import run_import
from apps.roads.models import RoadNode, RoadSegment
from apps.sensors.models import Sensor

pytestmark = pytest.mark.django_db


def _issues(result, action: str) -> dict[str, object]:
    return {i.feature_id: i for i in result.issues if i.action == action}


def test_geopackage_with_two_layers_loads_both_as_separate_sources(samples: Path) -> None:
    result = run_import(path=samples / "two_layers.gpkg")

    assert result.counts["buildings"].created == 6
    # 4 roads, two of them two-way: 6 directed segments, joined at their shared ends.
    assert (result.counts["roads"].read, result.counts["roads"].created) == (4, 6)
    assert result.counts["road_nodes"].created == RoadNode.objects.filter(source="two_layers/roads").count() > 0
    assert Building.objects.filter(source="two_layers/buildings").count() == 6
    assert RoadSegment.objects.filter(source="two_layers/roads", from_node__isnull=False).count() == 6
    run = ImportRun.objects.get(pk=result.run.pk)
    assert run.state == ImportState.SUCCEEDED
    assert len(run.source_sha256) == 64 and run.source_size > 0
    # Levels x 3 m where no height is tagged; the tagged height otherwise.
    b = Building.objects.get(source="two_layers/buildings", source_id="b4")
    assert b.height_source == HeightSource.LEVELS and b.height_m == b.levels * 3.0


def test_geopackage_layer_option_loads_only_that_layer(samples: Path) -> None:
    result = run_import(path=samples / "two_layers.gpkg", layer="roads")

    assert set(result.counts) == {"road_nodes", "roads"}
    assert not Building.objects.filter(source__startswith="two_layers").exists()
    with pytest.raises(ImportFileError, match="has no layer 'nope'; its layers are: buildings, roads"):
        run_import(path=samples / "two_layers.gpkg", layer="nope")


def test_shapefile_in_etrs_tm35fin_is_reprojected_to_wgs84(samples: Path) -> None:
    import geopandas as gpd

    result = run_import(path=samples / "buildings_etrs_tm35fin.zip")

    assert result.counts["buildings"].created == 5
    source = gpd.read_file(f"zip://{samples / 'buildings_etrs_tm35fin.zip'}")
    to_wgs84 = Transformer.from_crs(3067, 4326, always_xy=True)
    for _, row in source.iterrows():
        expected = to_wgs84.transform(row.geometry.centroid.x, row.geometry.centroid.y)
        stored = Building.objects.get(source="buildings_etrs_tm35fin", source_id=row["id"]).geom.centroid
        assert stored.x == pytest.approx(expected[0], abs=1e-6)
        assert stored.y == pytest.approx(expected[1], abs=1e-6)


def test_invalid_polygons_are_repaired_or_rejected_with_reasons(samples: Path) -> None:
    result = run_import(path=samples / "invalid_polygons.geojson")

    counts = result.counts["buildings"]
    assert (counts.read, counts.created, counts.repaired, counts.rejected, counts.warnings) == (4, 3, 1, 1, 1)
    repaired, rejected, warnings = _issues(result, "repaired"), _issues(result, "rejected"), _issues(result, "warning")
    assert "Self-intersection" in repaired["f2"].reason
    assert "cannot be repaired into a Polygon" in rejected["f3"].reason and rejected["f3"].row == 3
    assert warnings["f4"].field == "height" and "not a number" in warnings["f4"].reason
    stored = {b.source_id: b for b in Building.objects.filter(source="invalid_polygons")}
    assert set(stored) == {"f1", "f2", "f4"}
    assert stored["f2"].geom.valid and stored["f2"].geom.num_geom == 2  # the bowtie became two triangles
    assert stored["f4"].height_source == HeightSource.DEFAULT


def test_file_without_crs_is_refused_unless_srid_is_given(samples: Path) -> None:
    with pytest.raises(ImportFileError) as excinfo:
        run_import(path=samples / "no_crs_buildings.zip")
    assert "no_crs_buildings.zip" in excinfo.value.message and "--srid" in excinfo.value.message
    assert not Building.objects.filter(source="no_crs_buildings").exists()
    assert ImportRun.objects.filter(source_name="no_crs_buildings.zip", state=ImportState.FAILED).exists()

    result = run_import(path=samples / "no_crs_buildings.zip", srid=3067)
    assert result.counts["buildings"].created == 3
    lon, lat = Building.objects.get(source="no_crs_buildings", source_id="n1").geom.centroid.coords
    assert 24.9 < lon < 25.0 and 60.1 < lat < 60.2


def test_unknown_srid_is_refused(samples: Path) -> None:
    with pytest.raises(ImportFileError, match="EPSG:999999 is not a coordinate reference system"):
        run_import(path=samples / "no_crs_buildings.zip", srid=999999)


def test_coordinates_outside_the_declared_crs_are_rejected(samples: Path) -> None:
    result = run_import(path=samples / "wrong_crs.gpkg")

    assert result.counts["buildings"].rejected == 3 and result.counts["buildings"].created == 0
    assert all("outside the area of use of EPSG:4326" in i.reason for i in result.issues)
    assert not Building.objects.filter(source="wrong_crs").exists()


def test_sensor_csv_rejects_the_bad_row_and_links_sensors_to_the_city(samples: Path) -> None:
    result = run_import(path=samples / "sensors.csv")

    assert result.counts["sensors"].created == 6
    (bad,) = _issues(result, "rejected").values()
    assert (bad.row, bad.feature_id, bad.field) == (7, "hel-air-003", "lat")
    assert "not a number: 'abc'" in bad.reason
    # Traffic sensors are attached to the nearest road segment of the demo city, meters to a building.
    traffic = Sensor.objects.filter(kind="traffic", source="sensors")
    assert traffic.count() == 2 and all(s.road_segment_id for s in traffic)
    assert all(s.building_id for s in Sensor.objects.filter(kind="energy", source="sensors"))


def test_wkt_csv_needs_srid_and_reports_the_malformed_row(samples: Path) -> None:
    with pytest.raises(ImportFileError, match="--srid"):
        run_import(path=samples / "assets_wkt.csv")
    result = run_import(path=samples / "assets_wkt.csv", srid=3067)

    assert result.counts["assets"].created == 4
    (bad,) = _issues(result, "rejected").values()
    assert (bad.row, bad.feature_id, bad.field) == (6, "lamp-005", "wkt")


def test_reload_updates_in_place_and_replace_deletes_what_is_gone(samples: Path, tmp_path: Path) -> None:
    first = run_import(path=samples / "districts.geojson")
    assert first.counts["districts"].created == 2
    again = run_import(path=samples / "districts.geojson")
    assert (again.counts["districts"].created, again.counts["districts"].unchanged) == (0, 2)
    assert District.objects.filter(source="districts").count() == 2

    # The same dataset with one district renamed and the other gone.
    text = (samples / "districts.geojson").read_text()
    import json

    data = json.loads(text)
    data["features"] = data["features"][:1]
    data["features"][0]["properties"]["name"] = "Renamed"
    changed = tmp_path / "districts.geojson"
    changed.write_text(json.dumps(data))
    third = run_import(path=changed, replace=True)
    assert (third.counts["districts"].updated, third.counts["districts"].deleted) == (1, 1)
    assert list(District.objects.filter(source="districts").values_list("name", flat=True)) == ["Renamed"]


def _stores(queries: list[dict[str, str]], table: str) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().startswith(("INSERT", "WITH up")) and table in q["sql"]]


def test_a_first_load_inserts_plainly_and_a_reload_upserts(samples: Path) -> None:
    with CaptureQueriesContext(connection) as first:
        assert run_import(path=samples / "districts.geojson").counts["districts"].created == 2
    with CaptureQueriesContext(connection) as again:
        assert run_import(path=samples / "districts.geojson").counts["districts"].unchanged == 2
    (plain,) = _stores(first.captured_queries, "districts_district")
    (upsert,) = _stores(again.captured_queries, "districts_district")
    assert "ON CONFLICT" not in plain and "ON CONFLICT" in upsert


def test_keys_stored_meanwhile_turn_the_plain_insert_into_the_upsert(
    samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A concurrent load that stored the same keys after this one found the source empty: the plain INSERT
    # conflicts; its savepoint is rolled back and the rows are upserted, as without the shortcut.
    first = run_import(path=samples / "districts.geojson")
    stored = dict(District.objects.filter(source="districts").values_list("source_id", "import_run_id"))
    monkeypatch.setattr(import_sql, "new_source_sql", lambda target: "SELECT %(source)s IS NOT NULL")
    again = run_import(path=samples / "districts.geojson")

    counts = again.counts["districts"]
    assert (counts.created, counts.updated, counts.unchanged, counts.rejected) == (0, 0, 2, 0)
    assert ImportRun.objects.get(pk=again.run.pk).state == ImportState.SUCCEEDED
    assert dict(District.objects.filter(source="districts").values_list("source_id", "import_run_id")) == stored
    assert set(stored.values()) == {first.run.pk}


def test_dry_run_reports_everything_and_writes_nothing(samples: Path) -> None:
    before = Building.objects.count()
    result = run_import(path=samples / "invalid_polygons.geojson", dry_run=True)

    assert result.counts["buildings"].created == 3 and result.counts["buildings"].rejected == 1
    assert Building.objects.count() == before
    assert ImportRun.objects.get(pk=result.run.pk).dry_run


def test_a_failure_midway_leaves_nothing_behind(samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = services.load_rows
    calls = []

    def failing(rows, **kwargs):  # noqa: ANN001, ANN003
        calls.append(rows.target.kind)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(rows, **kwargs)

    monkeypatch.setattr(services, "load_rows", failing)
    with pytest.raises(RuntimeError):
        run_import(path=samples / "two_layers.gpkg")

    assert calls == ["buildings", "roads"]
    assert not Building.objects.filter(source__startswith="two_layers").exists()  # the first layer rolled back
    run = ImportRun.objects.filter(source_name="two_layers.gpkg").latest("created_at")
    assert run.state == ImportState.FAILED and "nothing was changed" in run.message


def test_osm_xml_with_a_clipped_way_drops_the_missing_node(samples: Path) -> None:
    result = run_import(path=samples / "tiny.osm", source="tiny")

    assert result.counts["buildings"].created == 1
    building = Building.objects.get(source="tiny")
    assert building.levels == 4 and building.height_m == 12.0
    segments = RoadSegment.objects.filter(source="tiny")
    assert segments.filter(osm_way_id=2004).exists()  # kept, minus the node the extract does not have
    for seg in segments:  # the graph is consistent: a segment starts at its from-node, ends at its to-node
        assert seg.from_node.geom.equals_exact(Point(seg.geom[0], srid=4326), 1e-9)
        assert seg.to_node.geom.equals_exact(Point(seg.geom[-1], srid=4326), 1e-9)
    # Ways 2002 and 2003 share node 1006: it is a junction node of the graph.
    assert RoadNode.objects.filter(source="tiny", osm_id=1006).exists()


def test_unsupported_or_disguised_files_are_refused(tmp_path: Path) -> None:
    vrt = tmp_path / "evil.geojson"
    vrt.write_text(
        '<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>'
    )
    with pytest.raises(ImportFileError, match="does not look like a GeoJSON file"):
        run_import(path=vrt)
    other = tmp_path / "data.xlsx"
    other.write_bytes(b"PK\x03\x04")
    with pytest.raises(ImportFileError, match="unsupported file type"):
        run_import(path=other)


def test_cli_names_file_row_and_field(samples: Path) -> None:
    out = StringIO()
    call_command("load_city", str(samples / "sensors.csv"), "--dry-run", stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "sensors.csv layer sensors row 7 (id hel-air-003), field lat: not a number: 'abc' [rejected]" in text
    assert "Dry run: nothing was written." in text
    with pytest.raises(
        CommandError,
        match=r"no_crs_buildings.zip: layer 'no_crs_buildings' has no coordinate reference system; pass --srid",
    ):
        call_command("load_city", str(samples / "no_crs_buildings.zip"), stdout=StringIO(), stderr=StringIO())


def test_progress_runs_from_zero_to_the_end_through_the_rows_staged(samples: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(loading, "COPY_CHUNK_ROWS", 1)  # one progress report per staged row
    calls: list[tuple[str, float, int]] = []
    run_import(
        path=samples / "invalid_polygons.geojson", kind="buildings", dry_run=True, progress=lambda *c: calls.append(c)
    )
    assert calls[0] == ("reading", 0, 3)
    assert calls[-1] == ("done", 3, 3)
    done = [c[1] for c in calls]
    assert done == sorted(done) and all(0 <= d <= 3 for d in done)
    staged = [c for c in calls if "rows staged" in c[0]]
    assert len(staged) >= 3 and all(1 < c[1] < 2 for c in staged)  # inside the loading step, not at its end
