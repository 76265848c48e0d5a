"""Real OGC clients against the real server (uvicorn on the test database): GDAL's OAPIF driver (ogrinfo,
ogr2ogr) and OWSLib read the collections and copy the buildings, also in the city's metric CRS."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pyogrio
import pytest
import shapely
from django.contrib.gis.geos import Polygon
from django.db import connection
from owslib.ogcapi.features import Features
from pyproj import Transformer

from apps.buildings.models import Building

pytestmark = pytest.mark.django_db
EPSG_3067 = "http://www.opengis.net/def/crs/EPSG/0/3067"


def _gdal_environment() -> dict[str, str]:
    """This process's environment without the PROJ data directory that `import sumo` (sumolib, libsumo) sets
    when none is set: that proj.db belongs to SUMO's own PROJ, and the system GDAL refuses it."""
    sumo_proj = os.sep + os.path.join("sumo", "data", "proj")
    return {k: v for k, v in os.environ.items() if not (k in ("PROJ_LIB", "PROJ_DATA") and sumo_proj in v)}


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, env=_gdal_environment())
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_ogrinfo_lists_the_collections_with_counts_and_extents(server_url: str) -> None:
    listing = _run("ogrinfo", "-ro", "-q", f"OAPIF:{server_url}/ogc/")
    for name in ("buildings", "road-segments", "road-nodes", "utility-assets", "districts", "sensors"):
        assert f": {name} (title:" in listing
    summary = _run("ogrinfo", "-ro", "-so", f"OAPIF:{server_url}/ogc/", "buildings")
    assert f"Feature Count: {Building.objects.count()}" in summary
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM buildings_building) x"
        )
        x0, y0, x1, y1 = cursor.fetchone()
    assert f"Extent: ({x0:.6f}, {y0:.6f}) - ({x1:.6f}, {y1:.6f})" in summary


def test_ogr2ogr_copies_every_building_into_a_geopackage(server_url: str, tmp_path: Path) -> None:
    out = tmp_path / "buildings.gpkg"
    _run("ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{server_url}/ogc/", "buildings", "-oo", "PAGE_SIZE=200")
    frame = pyogrio.read_dataframe(out, layer="buildings", fid_as_index=True)  # GDAL keeps the ids as FIDs
    stored = {b.pk: b for b in Building.objects.all()}
    assert len(frame) == len(stored)
    assert set(frame.index) == set(stored)
    assert frame["height_m"].dtype.kind == "f"  # a real column, not integer (GDAL guesses from the values)
    sample = frame.iloc[len(frame) // 2]
    building = stored[int(frame.index[len(frame) // 2])]
    assert sample["height_m"] == pytest.approx(building.height_m, abs=1e-3)
    assert sample.geometry.equals_exact(shapely.from_wkb(bytes(building.geom.wkb)), tolerance=1e-7)


def test_ogr2ogr_in_the_city_metric_crs_matches_pyproj(server_url: str, tmp_path: Path) -> None:
    out = tmp_path / "buildings-3067.gpkg"
    # GDAL 3.6's OAPIF has no CRS open option: the connection's query (crs=) goes with every request and the
    # answer is in EPSG:3067 (Content-Crs), which -a_srs records in the GeoPackage.
    source = f"OAPIF:{server_url}/ogc/?crs={EPSG_3067}"
    _run("ogr2ogr", "-f", "GPKG", "-a_srs", "EPSG:3067", str(out), source, "buildings", "-oo", "PAGE_SIZE=1000")
    frame = pyogrio.read_dataframe(out, layer="buildings", fid_as_index=True)
    assert len(frame) == Building.objects.count()
    transformer = Transformer.from_crs(4326, 3067, always_xy=True)
    for pk, row in frame.iloc[::50].iterrows():
        stored = Building.objects.get(pk=int(pk)).geom[0][0]
        got = list(row.geometry.geoms[0].exterior.coords)
        for (lon, lat), (x, y) in zip(stored, got, strict=True):
            assert (x, y) == pytest.approx(transformer.transform(lon, lat), abs=0.002)


def test_owslib_reads_collections_items_and_queryables(server_url: str) -> None:
    api = Features(f"{server_url}/ogc/")
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()["conformsTo"]
    ids = [c["id"] for c in api.collections()["collections"]]
    assert ids[:6] == ["buildings", "road-segments", "road-nodes", "utility-assets", "districts", "sensors"]
    box = [24.940, 60.165, 24.945, 60.170]
    page = api.collection_items("buildings", bbox=box, limit=1000)
    expected = Building.objects.filter(geom__intersects=Polygon.from_bbox(box)).count()
    assert page["numberMatched"] == page["numberReturned"] == expected
    residential = api.collection_items("buildings", use="residential", limit=5)
    assert residential["numberMatched"] == Building.objects.filter(use="residential").count()
    assert all(f["properties"]["use"] == "residential" for f in residential["features"])
    assert "height_m" in api.collection_queryables("buildings")["properties"]
    one = api.collection_item("buildings", str(page["features"][0]["id"]))
    assert one["id"] == page["features"][0]["id"]
