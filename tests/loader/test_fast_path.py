"""The loader's fast paths (issue 13) give what the one-by-one paths gave: GeoJSON geometries checked in
bulk (geojson_bulk.py) against the per-feature checks, and rows staged by binary COPY in chunks, with
each problem reported at its own row whichever chunk it is in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import shapely

from apps.buildings.models import Building, HeightSource
from apps.imports import loading
from apps.imports.geojson import read_geojson
from apps.imports.geojson_geometry import _GeometryBuilder
from apps.imports.services import run_import
from tests.loader.hostile_files import feature, square, write_geojson
from tests.loader.support import LAT, LON


def _line(*points: Any) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


def _geometries() -> list[Any]:
    """Well-formed geometries of the bulk kinds around every kind of broken one."""
    unclosed = square(LON + 0.001, LAT)
    unclosed["coordinates"][0][-1] = [LON + 0.0011, LAT]
    short = {"type": "Polygon", "coordinates": [[[LON, LAT], [LON + 0.001, LAT], [LON, LAT]]]}
    nan = square(LON + 0.002, LAT)
    nan["coordinates"][0][2] = [float("nan"), LAT]
    booleans = {"type": "Polygon", "coordinates": [[[True, False], [True, True], [False, True], [True, False]]]}
    text = square(LON + 0.003, LAT)
    text["coordinates"][0][1] = ["24.9", LAT]
    huge = square(LON + 0.004, LAT)
    huge["coordinates"][0][1] = [2**70, LAT]
    third_dimension = {
        "type": "Polygon",
        "coordinates": [[[LON, LAT, 5], [LON + 0.001, LAT, 5], [LON, LAT + 0.001, 5], [LON, LAT, 5]]],
    }
    multi = {
        "type": "MultiPolygon",
        "coordinates": [square(LON, LAT + 0.001)["coordinates"], unclosed["coordinates"]],
    }
    good_multi = {"type": "MultiPolygon", "coordinates": [square(LON, LAT + 0.002)["coordinates"]]}
    with_hole = square(LON + 0.005, LAT, d=0.001)
    with_hole["coordinates"].append(square(LON + 0.0052, LAT + 0.0002)["coordinates"][0])
    return [
        square(LON, LAT),
        unclosed,
        short,
        nan,
        booleans,
        text,
        huge,
        third_dimension,
        multi,
        good_multi,
        with_hole,
        {"type": "Polygon", "coordinates": []},
        {"type": "Polygon", "coordinates": [[1, 2]]},  # positions that are not arrays
        _line((LON, LAT), (LON + 0.001, LAT)),
        _line((LON, LAT)),
        _line((LON, LAT), (float("inf"), LAT)),
        {"type": "LineString", "coordinates": []},
    ]


def _built(geometries: list[Any], *, bulk: bool) -> tuple[list[str | None], dict[int, str]]:
    builder = _GeometryBuilder(len(geometries), bulk=bulk)
    errors: dict[int, str] = {}
    for i, geometry in enumerate(geometries):
        try:
            builder.add(i, geometry)
        except Exception as exc:  # noqa: BLE001 - what each path refuses at once, compared below
            errors[i] = str(exc)
    result = builder.build()
    errors.update(builder.errors)
    return [None if g is None else shapely.to_wkt(g) for g in result], errors


def test_bulk_geometry_checks_give_what_the_one_by_one_checks_give() -> None:
    geometries = _geometries()
    bulk_wkt, bulk_errors = _built(geometries, bulk=True)
    one_wkt, one_errors = _built(geometries, bulk=False)

    assert bulk_errors == one_errors
    assert bulk_wkt == one_wkt
    assert bulk_errors[1] == "ring 1 is not closed (its last position differs from its first)"
    assert bulk_errors[2] == "ring 1 has 3 positions; a ring needs at least 4"
    assert bulk_errors[4] == "ring 1 has a coordinate that is not a number"
    assert bulk_errors[8] == "polygon 2 ring 1 is not closed (its last position differs from its first)"
    assert bulk_errors[14] == "LineString.coordinates has 1 position; a line needs at least 2"
    assert 0 not in bulk_errors and bulk_wkt[0] is not None and bulk_wkt[10] is not None


def test_one_malformed_position_sends_the_whole_file_one_by_one_with_the_same_outcome(tmp_path: Path) -> None:
    features = [feature(f"b{i}", square(LON + i * 0.001, LAT), building="yes") for i in range(1, 5)]
    features[2]["geometry"]["coordinates"][0][1] = [LON]  # one position of one coordinate
    layer = read_geojson(write_geojson(tmp_path / "one.geojson", features), label="one.geojson", srid_override=None)

    assert layer.row_errors == {3: ("geometry", "ring 1 has a position that is not [x, y]")}
    assert [g is not None for g in layer.frame.geometry] == [True, True, False, True]


@pytest.mark.django_db
def test_problems_in_a_later_copy_chunk_are_reported_at_their_own_rows(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(loading, "COPY_CHUNK_ROWS", 3)
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[LON, LAT], [LON + 0.001, LAT + 0.001], [LON + 0.001, LAT], [LON, LAT + 0.001], [LON, LAT]]],
    }
    features = [
        feature(f"b{i}", square(LON + i * 0.001, LAT), building="yes", height=12.5, name="N\x00ame")
        for i in range(1, 9)
    ]
    features[4] = feature("b5", bowtie, building="yes")  # row 5: second chunk, repaired
    features[6] = feature("b2", square(LON, LAT + 0.003), building="yes")  # row 7: third chunk, duplicate id
    features[7]["properties"]["building_levels"] = "lots"  # row 8: a warning
    path = write_geojson(tmp_path / "chunks.geojson", features)

    result = run_import(path=path, kind="buildings")

    by_row = {(i.row, i.action): i for i in result.issues}
    assert by_row[(5, "repaired")].feature_id == "b5" and by_row[(5, "repaired")].field == "geometry"
    assert by_row[(7, "rejected")].reason == "duplicate id b2 (first at row 2)"
    assert by_row[(8, "warning")].field == "building_levels"
    assert {i.row for i in result.issues} == {5, 7, 8}
    counts = result.counts["buildings"]
    assert (counts.read, counts.created, counts.repaired, counts.rejected) == (8, 7, 1, 1)
    stored = {b.source_id: b for b in Building.objects.filter(source="chunks")}
    assert set(stored) == {"b1", "b2", "b3", "b4", "b5", "b6", "b8"}
    assert stored["b5"].geom.valid and stored["b5"].geom.srid == 4326
    # Binary COPY: tags as JSON objects, text without NUL (PostgreSQL holds none), numbers as numbers.
    assert stored["b1"].tags == {"id": "b1", "building": "yes", "height": 12.5, "name": "Name"}
    assert (stored["b1"].name, stored["b1"].height_m, stored["b1"].height_source) == ("Name", 12.5, HeightSource.TAG)
    assert (stored["b8"].levels, stored["b8"].height_source) == (None, HeightSource.TAG)
