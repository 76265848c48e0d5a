"""Builders of hostile and broken source files for tests/loader/, all made in a temporary
directory by the test, and an "SSRF canary": an HTTP server on 127.0.0.1 that counts what reaches it."""

from __future__ import annotations

import json
import sqlite3
import struct
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

HELSINKI = (24.94, 60.17)


@dataclass
class Canary:
    url: str
    hits: list[str] = field(default_factory=list)


@contextmanager
def canary_server(token: str) -> Iterator[Canary]:
    """Answers every request with a GeoJSON building whose id is `token`, so that anything fetched would
    also show up in a report."""
    body = json.dumps(
        {"type": "FeatureCollection", "features": [feature(token, square(*HELSINKI), building="yes")]}
    ).encode()
    canary = Canary(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            canary.hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body)

        do_HEAD = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    canary.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield canary
    finally:
        server.shutdown()
        server.server_close()


# -------------------------------------------------------------------------------------------- GeoJSON
def square(lon: float, lat: float, d: float = 0.0002) -> dict[str, Any]:
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(fid: str | None, geometry: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"id": fid, **props} if fid is not None else props, "geometry": geometry}


def write_geojson(path: Path, features: list[Any], **top: Any) -> Path:
    # json.dumps writes float("nan") as the bare NaN literal, as some exporters do.
    path.write_text(json.dumps({"type": "FeatureCollection", **top, "features": features}))
    return path


def vrt_xml(source: str, layer: str | None = None) -> str:
    """A VRT layer "buildings" reading `source` (a path or URL), in WGS 84 so that a loader would go on."""
    src_layer = f"<SrcLayer>{layer}</SrcLayer>" if layer else ""
    return (
        f'<OGRVRTDataSource><OGRVRTLayer name="buildings"><SrcDataSource>{source}</SrcDataSource>{src_layer}'
        "<LayerSRS>EPSG:4326</LayerSRS></OGRVRTLayer></OGRVRTDataSource>"
    )


# ------------------------------------------------------------------------------------------------ zip
def _patch_u32(data: bytearray, offset: int, value: int) -> None:
    data[offset : offset + 4] = struct.pack("<I", value)


def forge_zip_sizes(path: Path, member: str, *, file_size: int | None = None, flag_bits: int | None = None) -> None:
    """Rewrite a member's declared uncompressed size and/or flags in both its local and central header."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    data = bytearray(path.read_bytes())
    local = info.header_offset
    assert data[local : local + 4] == b"PK\x03\x04"
    central = _central_entry(data, member)
    if file_size is not None:
        _patch_u32(data, local + 22, file_size)
        _patch_u32(data, central + 24, file_size)
    if flag_bits is not None:
        data[local + 6 : local + 8] = struct.pack("<H", flag_bits)
        data[central + 8 : central + 10] = struct.pack("<H", flag_bits)
    path.write_bytes(bytes(data))


def _central_entry(data: bytearray, member: str) -> int:
    start = 0
    while (at := data.find(b"PK\x01\x02", start)) != -1:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_len].decode() == member:
            return at
        start = at + 4
    raise AssertionError(f"{member} not in the central directory")


def zip_with_zeros(path: Path, member: str, size: int, *, others: dict[str, bytes] | None = None) -> Path:
    """A zip whose `member` is `size` zero bytes, deflated (written in chunks: never all in memory)."""
    chunk = bytes(4 * 1024**2)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in (others or {}).items():
            zf.writestr(name, content)
        with zf.open(member, "w") as out:
            left = size
            while left > 0:
                out.write(chunk[: min(left, len(chunk))])
                left -= len(chunk)
    return path


# ----------------------------------------------------------------------------------------- GeoPackage
def _gpkg_wkb_offset(blob: bytes) -> int:
    """Where the WKB starts in a GeoPackage geometry blob (after its header and envelope)."""
    flags = blob[3]
    envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(flags >> 1) & 0x7]
    return 8 + envelope


def corrupt_gpkg_polygon(path: Path, table: str, fid: int, how: str) -> None:
    """In the GeoPackage at `path` (written without a spatial index: its triggers need GDAL's SQL
    functions), break feature `fid`'s single-ring polygon: "unclosed" moves its last
    point, "nan" makes its second point's x NaN."""
    with sqlite3.connect(path) as db:
        (geom_col,) = db.execute(
            "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", [table]
        ).fetchone()
        (blob,) = db.execute(f'SELECT "{geom_col}" FROM "{table}" WHERE fid = ?', [fid]).fetchone()  # noqa: S608
        blob = bytearray(blob)
        wkb = _gpkg_wkb_offset(blob)
        assert blob[wkb] == 1 and struct.unpack_from("<I", blob, wkb + 1)[0] == 3  # little-endian Polygon
        second_x = wkb + 1 + 4 + 4 + 4 + 16  # byte order, type, ring count, point count, first point
        if how == "unclosed":
            blob[-16:-8] = struct.pack("<d", struct.unpack_from("<d", blob, len(blob) - 16)[0] + 0.001)
        else:
            blob[second_x : second_x + 8] = struct.pack("<d", float("nan"))
        db.execute(f'UPDATE "{table}" SET "{geom_col}" = ? WHERE fid = ?', [bytes(blob), fid])  # noqa: S608


def shapefile_parts(tmp_path: Path) -> dict[str, bytes]:
    """A real one-polygon Shapefile (EPSG:3067) as {member name: bytes}."""
    folder = tmp_path / "shp"
    folder.mkdir()
    gdf = gpd.GeoDataFrame(
        {"id": ["z1"], "building": ["yes"]}, geometry=[shapely.box(385600, 6671900, 385620, 6671920)], crs=3067
    )
    gdf.to_file(folder / "b.shp")
    return {f"b{p.suffix}": p.read_bytes() for p in folder.iterdir()}


# Run in a fresh process by the memory test: peak RSS is per process.
MEASURE_RSS = """
import json, resource, sys
import django
django.setup()
from pathlib import Path
from apps.imports.exceptions import ImportFileError
from apps.imports.readers import read_layers
out = {}
for name in sys.argv[1:]:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        read_layers(Path(name))
        outcome = "read"
    except ImportFileError as exc:
        outcome = "refused: " + exc.message
    except Exception as exc:
        outcome = f"crashed: {type(exc).__name__}: {exc}"
    out[name] = {"grew_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before, "outcome": outcome}
print(json.dumps(out))
"""
