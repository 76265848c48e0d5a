"""load_city on CityJSON and CityJSONSeq: footprints, heights and attributes from LoD1/LoD2 geometry, the file's
CRS and transform, BuildingParts, and the per-object report of broken objects (files built here with
tests/cityjson_files.py, plus fixtures/samples/buildings.city.json)."""

from __future__ import annotations

import copy
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.core.management import call_command
from pyproj import Transformer

from apps.buildings.models import Building, HeightSource
from apps.imports.exceptions import ImportFileError
from apps.imports.models import ImportRun
from apps.imports.services import run_import
from tests.cityjson_files import (
    HELSINKI,
    Geometry,
    box,
    building,
    gabled_house,
    write_cityjson,
    write_cityjson_seq,
)

pytestmark = pytest.mark.django_db

X0, Y0 = 385_500.0, 6_671_800.0  # central Helsinki in EPSG:3067
ORIGIN = (385_000.0, 6_671_000.0, 0.0)
TO_4326 = {
    3067: Transformer.from_crs(3067, 4326, always_xy=True),
    28992: Transformer.from_crs(28992, 4326, always_xy=True),
}


def _metric(b: Building, srid: int = 3067) -> GEOSGeometry:
    return b.geom.transform(srid, clone=True)


def _corners_match(b: Building, x0: float, y0: float, x1: float, y1: float, srid: int = 3067) -> None:
    """The stored footprint (WGS 84) is the rectangle whose corners pyproj transforms from `srid`."""
    expected = [TO_4326[srid].transform(x, y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
    stored = shapely.from_wkt(b.geom.wkt)
    assert len(shapely.get_coordinates(stored)) == 5
    for lon, lat in expected:
        assert min(shapely.distance(shapely.points(lon, lat), shapely.points(shapely.get_coordinates(stored)))) < 1e-8


def _issues(result: Any, action: str = "rejected") -> dict[str | None, str]:
    return {i.feature_id: i.reason for i in result.issues if i.action == action}


def _city(tmp_path: Path, name: str = "city.city.json", **kwargs: Any) -> Path:
    return write_cityjson(
        tmp_path / name,
        {
            "box": building(
                box(X0, Y0, X0 + 10, Y0 + 20, 5.0, 17.0), name="Box", function="residential", storeysAboveGround=4
            ),
            "house": building(gabled_house(X0 + 30, Y0, X0 + 40, Y0 + 8, 4.0, 10.0, 14.0), usage="office"),
            "parted": {"type": "Building", "attributes": {"name": "Parted"}, "children": ["p1", "p2", "tree"]},
            "p1": {
                "type": "BuildingPart",
                "parents": ["parted"],
                "geometry": [box(X0 + 60, Y0, X0 + 70, Y0 + 10, 0, 10)],
            },
            "p2": {
                "type": "BuildingPart",
                "parents": ["parted"],
                "geometry": [box(X0 + 70, Y0, X0 + 75, Y0 + 5, 0, 25)],
            },
            "tree": {"type": "SolitaryVegetationObject", "parents": ["parted"]},
            "measured": building(box(X0 + 90, Y0, X0 + 96, Y0 + 6, 0, 12), measuredHeight=12.7),
        },
        translate=ORIGIN,
        **kwargs,
    )


def test_cityjson_2_lod1_lod2_parts_and_attributes(tmp_path: Path) -> None:
    result = run_import(path=_city(tmp_path))

    assert result.counts["buildings"].created == 4 and not _issues(result)
    stored = {b.source_id: b for b in Building.objects.filter(source="city")}
    assert set(stored) == {"box", "house", "parted", "measured"}  # the parts are in their building
    box_b, house, parted, measured = (stored[k] for k in ("box", "house", "parted", "measured"))
    _corners_match(box_b, X0, Y0, X0 + 10, Y0 + 20)
    assert (box_b.name, box_b.use, box_b.levels) == ("Box", "residential", 4)
    assert (box_b.height_m, box_b.height_source) == (12.0, HeightSource.GEOMETRY)
    assert box_b.tags["cityjson:lod"] == "1.2" and box_b.tags["storeysAboveGround"] == 4
    # LoD2: the roof's projection is the footprint; the height runs from the ground to the ridge.
    _corners_match(house, X0 + 30, Y0, X0 + 40, Y0 + 8)
    assert (house.height_m, house.height_source, house.use) == (10.0, HeightSource.GEOMETRY, "office")
    assert house.tags["cityjson:lod"] == "2.2"
    # Parts: the union of their footprints (100 + 25 m², touching), the tallest part's height.
    assert _metric(parted).area == pytest.approx(125.0, abs=1e-3)
    assert parted.height_m == 25.0 and parted.tags["cityjson:parts"] == "p1,p2"
    assert (measured.height_m, measured.height_source) == (12.7, HeightSource.TAG)


def test_cityjson_1_1_in_a_compound_crs_and_a_plain_json_name(tmp_path: Path) -> None:
    x0, y0 = 85_000.0, 446_000.0  # Delft, RD New
    path = write_cityjson(
        tmp_path / "delft.json",
        {"d1": building(box(x0, y0, x0 + 12.5, y0 + 7.25, -1.0, 8.0))},
        version="1.1",
        crs="urn:ogc:def:crs:EPSG::7415",
        translate=(84_000.0, 445_000.0, -5.0),
    )

    result = run_import(path=path)

    assert result.run.options["format"] == "cityjson" and result.counts["buildings"].created == 1
    d1 = Building.objects.get(source="delft", source_id="d1")
    _corners_match(d1, x0, y0, x0 + 12.5, y0 + 7.25, srid=28992)  # NAP height dropped: RD New (EPSG:28992)
    assert _metric(d1, 28992).area == pytest.approx(12.5 * 7.25, abs=1e-3)
    assert d1.height_m == 9.0 and d1.height_source == HeightSource.GEOMETRY


def test_cityjsonseq_features_with_parts_and_broken_lines(tmp_path: Path) -> None:
    path = write_cityjson_seq(
        tmp_path / "seq.city.jsonl",
        [
            {"s1": building(box(X0, Y0, X0 + 8, Y0 + 8, 0, 6), name="First")},
            {
                "s2": {"type": "Building", "children": ["s2-a"]},
                "s2-a": {
                    "type": "BuildingPart",
                    "parents": ["s2"],
                    "geometry": [box(X0 + 20, Y0, X0 + 30, Y0 + 4, 0, 9)],
                },
            },
            {"s3": building({"type": "MultiSurface", "lod": "1", "boundaries": [[[0, 1, 7]]]})},
        ],
        crs=HELSINKI,
        translate=ORIGIN,
    )
    with open(path, "a") as fh:
        fh.write("{not json\n")

    result = run_import(path=path)

    assert set(Building.objects.filter(source="seq").values_list("source_id", flat=True)) == {"s1", "s2"}
    assert Building.objects.get(source="seq", source_id="s2").height_m == 9.0
    rejected = {(i.row, i.feature_id): i.reason for i in result.issues if i.action == "rejected"}
    assert "is out of range (the file has 0 vertices)" in rejected[(4, "s3")]
    assert "is not JSON" in rejected[(5, None)]


# --- broken objects: each reported with its id, the others load ------------------------------------------
BROKEN: dict[str, tuple[dict[str, Any], str]] = {
    "open-shell": (building(box(X0, Y0, X0 + 5, Y0 + 5, 0, 5)), "shell 1 of the solid is not closed: 4 edges"),
    "two-vertices": (
        building({"type": "MultiSurface", "lod": "1", "boundaries": [[[0, 1, 0]]]}),
        "surface 1 has a ring of 2 distinct vertices",
    ),
    "out-of-range": (building({"type": "Solid", "lod": "1", "boundaries": [[[[0, 1, 99999]]]]}), "vertex index 99999"),
    "bowtie": (
        building(
            Geometry(
                "MultiSurface", "1", [[[(X0, Y0, 3.0), (X0 + 6, Y0 + 5, 3.0), (X0 + 6, Y0, 3.0), (X0, Y0 + 3, 3.0)]]]
            )
        ),
        "surface 1 crosses itself seen from above (Self-intersection",
    ),
    "no-geometry": ({"type": "Building", "attributes": {"name": "Nothing"}}, "has no geometry"),
    "no-lod": (building(box(X0, Y0, X0 + 5, Y0 + 5, 0, 5, lod=None)), "geometry 1 (Solid) has no LoD"),
    "text-index": (
        building({"type": "MultiSurface", "lod": "1", "boundaries": [[["a", "b", "c"]]]}),
        "not a vertex index",
    ),
    "bad-part": (
        {"type": "Building", "children": ["bad-part-1"]},
        "its BuildingPart 'bad-part-1': LoD 1 geometry: geometry type 'GeometryInstance' is not supported",
    ),
}


def _broken_file(tmp_path: Path) -> Path:
    objects = {"good": building(box(X0 + 200, Y0, X0 + 210, Y0 + 10, 0, 7))}
    for object_id, (obj, _) in BROKEN.items():
        objects[object_id] = copy.deepcopy(obj)
    objects["open-shell"]["geometry"][0].boundaries[0].pop(1)  # no roof
    objects["bad-part-1"] = {
        "type": "BuildingPart",
        "parents": ["bad-part"],
        "geometry": [{"type": "GeometryInstance", "lod": "1", "template": 0, "boundaries": [0]}],
    }
    return write_cityjson(tmp_path / "broken.city.json", objects, translate=ORIGIN)


def test_each_kind_of_broken_object_is_reported_and_the_valid_one_loads(tmp_path: Path) -> None:
    result = run_import(path=_broken_file(tmp_path))

    assert list(Building.objects.filter(source="broken").values_list("source_id", flat=True)) == ["good"]
    rejected = _issues(result)
    assert set(rejected) == set(BROKEN)
    for object_id, (_, reason) in BROKEN.items():
        assert reason in rejected[object_id], (object_id, rejected[object_id])
    assert result.counts["buildings"].rejected == len(BROKEN)
    stored = ImportRun.objects.get(pk=result.run.pk).errors
    assert {e["feature_id"] for e in stored if e["action"] == "rejected"} == set(BROKEN)
    assert all(e["file"] == "broken.city.json" for e in stored)


def test_a_bad_file_or_bad_objects_leave_what_is_stored_alone(tmp_path: Path) -> None:
    run_import(path=_city(tmp_path), source="kept")
    before = {b.source_id: (b.geom.wkt, b.height_m, b.name) for b in Building.objects.filter(source="kept")}

    # The same ids, broken now (the box loses its roof): rejected, and the stored box is unchanged, even
    # with --replace (a rejected object is still in the file).
    broken = json.loads(_city(tmp_path, "again.city.json").read_text())
    broken["CityObjects"]["box"]["geometry"][0]["boundaries"][0].pop(1)
    path = tmp_path / "again.city.json"
    path.write_text(json.dumps(broken))
    result = run_import(path=path, source="kept", replace=True)
    assert "box" in _issues(result) and result.counts["buildings"].deleted == 0
    # Whole-file refusals: a CRS given by a URL that names no EPSG code (never fetched), a CRS PROJ does not know.
    for crs, message in (
        ("https://example.com/crs/mine", "does not name an EPSG code"),
        ("https://www.opengis.net/def/crs/EPSG/0/999999", "EPSG:999999 is not one PROJ knows"),
        ("https://www.opengis.net/def/crs/EPSG/0/5709", "EPSG:5709 has no horizontal part"),  # NAP height only
    ):
        with pytest.raises(ImportFileError, match=message):
            run_import(path=_city(tmp_path, "other.city.json", crs=crs), source="kept", replace=True)

    after = {b.source_id: (b.geom.wkt, b.height_m, b.name) for b in Building.objects.filter(source="kept")}
    assert after == before


def test_a_file_without_a_crs_needs_srid(tmp_path: Path) -> None:
    path = _city(tmp_path, "nocrs.city.json", crs=None)
    with pytest.raises(ImportFileError, match="has no metadata.referenceSystem; pass --srid"):
        run_import(path=path)
    assert run_import(path=path, srid=3067).counts["buildings"].created == 4
    with pytest.raises(ImportFileError, match="holds buildings, not roads"):
        run_import(path=path, srid=3067, kind="roads")


def test_the_sample_file_through_load_city(samples: Path) -> None:
    out = StringIO()
    call_command("load_city", str(samples / "buildings.city.json"), stdout=out, verbosity=0)

    text = out.getvalue()
    assert "(id c4), field geometry: LoD 1.2 geometry: shell 1 of the solid is not closed" in text
    assert "1 CityFurniture object(s) skipped" in text
    stored = {b.source_id: b for b in Building.objects.filter(source="buildings")}
    assert set(stored) == {"c1", "c2", "c3"}
    assert (stored["c1"].height_m, stored["c1"].height_source, stored["c1"].levels) == (16.5, "geometry", 5)
    assert (stored["c2"].height_m, stored["c2"].height_source) == (9.4, "height")
    assert _metric(stored["c3"]).area == pytest.approx(160.0, abs=1e-3) and stored["c3"].height_m == 18.0
    assert _metric(stored["c1"]).area == pytest.approx(240.0, abs=1e-3)


def test_upload_of_the_sample_runs_as_a_job_with_the_per_object_report(
    client, gis_staff, samples, run_queued_jobs
) -> None:  # noqa: ANN001
    client.force_login(gis_staff)
    with open(samples / "buildings.city.json", "rb") as fh:
        response = client.post("/imports/upload/", {"file": fh, "dry_run": ""})
    assert response.status_code == 302 and response["Location"].startswith("/jobs/")

    (job,) = run_queued_jobs()

    assert job.state == "succeeded"
    run = ImportRun.objects.get(pk=job.result["import_run"])
    assert run.options["format"] == "cityjson" and run.counts["buildings"]["created"] == 3
    report = client.get(job.result["url"]).content.decode()
    assert "c4" in report and "shell 1 of the solid is not closed" in report
