"""The buildings as CityJSON 2.0 (export_city and GET /api/buildings/cityjson/) on the real demo city: the
document's essentials (CRS, transform, integer vertices, closed and outward-oriented LoD1 solids, attributes,
the OSM attribution), and the round trip through load_city."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib.gis.geos import Polygon
from django.core.management import CommandError, call_command
from django.db import connection

from apps.buildings.models import Building
from apps.imports.cityjson_geometry import geometry_shape
from apps.imports.services import run_import

pytestmark = pytest.mark.django_db

BBOX = (24.940, 60.166, 24.946, 60.170)  # a few dozen of the demo city's buildings


def _in_bbox() -> Any:
    return Building.objects.filter(geom__intersects=Polygon.from_bbox(BBOX))


def _rings(boundaries: Any) -> list[list[int]]:
    """Every ring of a geometry's boundaries, whatever its nesting."""
    if boundaries and isinstance(boundaries[0], int):
        return [boundaries]
    return [ring for child in boundaries for ring in _rings(child)]


def _volume(rings: list[list[int]], vertices: np.ndarray) -> float:
    """The signed volume enclosed by oriented rings (fan triangles against the origin): positive when the
    surfaces face outwards."""
    total = 0.0
    for ring in rings:
        p = vertices[ring]
        total += float(np.einsum("ij,ij->i", np.broadcast_to(p[0], p[2:].shape), np.cross(p[1:-1], p[2:])).sum())
    return total / 6


def _check_document(doc: dict[str, Any], *, srid: int = 3067) -> dict[str, float]:
    """The essentials of CityJSON 2.0 that a reader relies on; returns each object's volume (m³)."""
    assert (doc["type"], doc["version"]) == ("CityJSON", "2.0")
    assert doc["metadata"]["referenceSystem"] == f"https://www.opengis.net/def/crs/EPSG/0/{srid}"
    assert "OpenStreetMap contributors" in doc["metadata"]["title"]
    scale, translate = doc["transform"]["scale"], doc["transform"]["translate"]
    assert scale == [0.001, 0.001, 0.001] and len(translate) == 3
    raw = doc["vertices"]
    assert all(len(v) == 3 and all(type(c) is int for c in v) for v in raw)
    vertices = np.asarray(raw, dtype=np.float64) * scale + translate
    used: set[int] = set()
    volumes = {}
    for object_id, obj in doc["CityObjects"].items():
        assert obj["type"] == "Building" and set(obj) == {"type", "attributes", "geometry"}
        (geometry,) = obj["geometry"]
        assert geometry["type"] in ("Solid", "MultiSolid") and geometry["lod"] == "1"
        rings = _rings(geometry["boundaries"])
        used.update(i for ring in rings for i in ring)
        geometry_shape(geometry, vertices, np.arange(len(vertices)))  # raises unless every shell is closed
        volumes[object_id] = _volume(rings, vertices - vertices.min(axis=0))
    assert used == set(range(len(vertices)))  # every vertex used, every index in range
    return volumes


def test_download_is_public_filtered_and_valid(api) -> None:  # noqa: ANN001
    response = api.get("/api/buildings/cityjson/", {"bbox": ",".join(map(str, BBOX))})

    assert response.status_code == 200 and response["Content-Type"] == "application/city+json"
    doc = json.loads(response.content)
    volumes = _check_document(doc)
    expected = {f"{b.source}/{b.source_id}": b for b in _in_bbox()}
    assert 10 < len(expected) < Building.objects.count() and set(doc["CityObjects"]) == set(expected)
    for key, b in expected.items():
        attributes = doc["CityObjects"][key]["attributes"]
        assert attributes["height"] == b.height_m and attributes["sourceId"] == b.source_id
        assert attributes.get("function") == (b.use or None) and attributes.get("storeysAboveGround") == b.levels
        assert attributes.get("osmId") == b.osm_id
        # Outward-facing LoD1: the solid's volume is the footprint's area times the height.
        area = b.geom.transform(3067, clone=True).area
        assert volumes[key] == pytest.approx(area * b.height_m, rel=1e-3)
    assert api.post("/api/buildings/cityjson/", {}).status_code == 403
    bad = api.get("/api/buildings/cityjson/", {"bbox": "1,2,3"}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


def test_export_reimports_as_the_same_buildings(tmp_path: Path) -> None:
    path = tmp_path / "helsinki.city.json"
    call_command("export_city", "--format", "cityjson", "-o", str(path), "--source", "osm", stderr=StringIO())
    count = Building.objects.filter(source="osm").count()

    result = run_import(path=path, source="roundtrip")

    assert result.counts["buildings"].created == count > 400
    assert result.counts["buildings"].rejected == 0, [str(i) for i in result.issues[:5]]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*), max(abs(a.height_m - b.height_m)),
                   max(ST_HausdorffDistance(ST_Transform(a.geom, 3067), ST_Transform(b.geom, 3067))),
                   count(*) FILTER (WHERE (a.name, a.use, a.levels) IS DISTINCT FROM (b.name, b.use, b.levels)),
                   count(*) FILTER (WHERE a.height_source = 'height' AND b.height_source <> 'height')
            FROM buildings_building a
            JOIN buildings_building b ON b.source = 'roundtrip' AND b.tags->>'sourceId' = a.source_id
            WHERE a.source = 'osm'
            """
        )
        matched, height_error, distance, other_attributes, lost_tagged = cursor.fetchone()
    assert matched == count
    assert height_error <= 0.005  # millimetre vertices, heights rounded to the centimetre
    assert distance < 0.01  # footprints within a centimetre
    assert other_attributes == 0 and lost_tagged == 0


def test_export_command_options() -> None:
    out = StringIO()
    call_command("export_city", "--bbox", ",".join(map(str, BBOX)), "--crs", "3879", stdout=out)
    doc = json.loads(out.getvalue())
    _check_document(doc, srid=3879)
    assert len(doc["CityObjects"]) == _in_bbox().count()
    assert doc["transform"]["translate"][0] > 25_000_000  # GK25's false easting
    with pytest.raises(CommandError, match="not a projected CRS in metres"):
        call_command("export_city", "--crs", "4326", stdout=StringIO())
    with pytest.raises(CommandError, match="not a coordinate reference system PostGIS knows"):
        call_command("export_city", "--crs", "999999", stdout=StringIO())
    with pytest.raises(CommandError, match="--bbox"):
        call_command("export_city", "--bbox", "1,2,3", stdout=StringIO())
    empty = StringIO()
    call_command("export_city", "--source", "no-such-source", stdout=empty)
    doc = json.loads(empty.getvalue())
    assert doc["CityObjects"] == {} and doc["vertices"] == []
