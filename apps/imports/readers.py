"""Reading source files into layers of features, with their CRS.

Formats are recognised by extension and checked by content (a .json file that opens as CityJSON is read
as CityJSON, by cityjson.py, into building rows directly). GeoJSON is parsed in Python (geojson.py);
GeoPackage and Shapefile are read by GDAL through pyogrio, after GDAL has been restricted to exactly
those two drivers with the network off (gdal_policy.py): a file never gets to choose another driver.
Zipped Shapefiles are unpacked under limits (archive.py). CSV is read by pandas. CRSs are reduced to an
EPSG code; anything else is refused. Every layer's geometries are then checked row by row: one that
cannot be read or has a non-finite coordinate rejects its row with the reason, never the file."""

from __future__ import annotations

import re
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from .archive import unpack_shapefiles
from .exceptions import ImportFileError
from .gdal_policy import GdalNotLockedDown, ensure_locked_down
from .geojson import read_geojson

OGR_DRIVERS = {"gpkg": "GPKG", "shapefile": "ESRI Shapefile"}
CSV_WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom")
CSV_LON_COLUMNS = ("lon", "lng", "longitude", "x")
CSV_LAT_COLUMNS = ("lat", "latitude", "y")
_EPSG_TEXT = re.compile(r"^EPSG:(\d{1,6})$")
_WKT_TEXT = re.compile(r"^\s*[A-Z_]+\[")
_CITYJSON_HEAD = re.compile(rb'^(?:\xef\xbb\xbf)?\s*\{\s*"type"\s*:\s*"CityJSON"')
_CITYJSON_SNIFF_BYTES = 256


@dataclass
class SourceLayer:
    """One layer of a source file: its features (a GeoDataFrame indexed by the 1-based row number of each
    feature; 'geometry' may hold None for rows that could not be parsed, explained in `row_errors`), its
    EPSG code (None if the file has none), per-row warnings, and the rows so broken that their id could
    not be read (so --replace cannot know which stored feature they are)."""

    name: str
    frame: gpd.GeoDataFrame
    srid: int | None
    row_errors: dict[int, tuple[str, str]] = field(default_factory=dict)  # row -> (field, reason)
    row_warnings: list[tuple[int, str, str]] = field(default_factory=list)  # (row, field, reason)
    unknown_id_rows: set[int] = field(default_factory=set)


def detect_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".osm.pbf", ".pbf")):
        return "osm_pbf"
    if name.endswith((".osm", ".osm.xml")):
        return "osm_xml"
    if name.endswith(".city.json"):
        return "cityjson"
    if name.endswith(".jsonl"):  # .city.jsonl, the CityJSONSeq convention, included
        return "cityjson_seq"
    if name.endswith(".json") and _is_cityjson(path):
        return "cityjson"
    if name.endswith((".geojson", ".json")):
        return "geojson"
    if name.endswith(".gpkg"):
        return "gpkg"
    if name.endswith(".zip"):
        return "shapefile_zip"
    if name.endswith(".shp"):
        return "shapefile"
    if name.endswith(".csv"):
        return "csv"
    raise ImportFileError(
        path.name,
        "unsupported file type; expected .osm.pbf, .osm, .geojson, .city.json (CityJSON), .city.jsonl "
        "(CityJSONSeq), .gpkg, .zip (Shapefile), .shp or .csv",
    )


def _is_cityjson(path: Path) -> bool:
    """A .json file whose top-level object opens with "type": "CityJSON" (as CityJSON writers put it).
    A path that is not (yet) a file, as an upload's name, is taken for GeoJSON until the file is there."""
    if not path.is_file():
        return False
    with open(path, "rb") as fh:
        head = fh.read(_CITYJSON_SNIFF_BYTES)
    return bool(_CITYJSON_HEAD.match(head))


def epsg_of(crs: str | None, path_name: str) -> int | None:
    """The EPSG code of a CRS as GDAL reports it ("EPSG:n" or WKT); None when the file declares none."""
    if not crs:
        return None
    if match := _EPSG_TEXT.match(crs):
        return int(match.group(1))
    if not _WKT_TEXT.match(crs):  # only codes and WKT reach PROJ, never a name PROJ might look up elsewhere
        raise ImportFileError(path_name, f"its CRS is given in a form that is not accepted: {crs[:80]!r}")
    try:
        parsed = CRS.from_wkt(crs)
    except Exception as exc:  # noqa: BLE001 - pyproj raises several types
        raise ImportFileError(path_name, f"its CRS cannot be read: {exc}") from exc
    code = parsed.to_epsg(min_confidence=70)
    if code is None:
        raise ImportFileError(
            path_name,
            f"its CRS ({parsed.name}) has no EPSG code; reproject it to a standard CRS or pass --srid",
        )
    return int(code)


# What each GDAL format's bytes must start with: a cheap first check, before GDAL (restricted to its two
# drivers) opens the file and its driver is checked again.
def _sniff(path: Path, fmt: str, label: str) -> None:
    with open(path, "rb") as fh:
        head = fh.read(16)
    ok = {"gpkg": head.startswith(b"SQLite format 3\x00"), "shapefile": head[:4] == b"\x00\x00\x27\x0a"}[fmt]
    if not ok:
        raise ImportFileError(label, f"does not look like a {OGR_DRIVERS[fmt]} file (its first bytes do not match)")


def read_layers(path: Path, *, layer: str | None = None, srid_override: int | None = None) -> list[SourceLayer]:
    """All layers of a non-OSM file (or only `layer`), each with its CRS."""
    if str(path).startswith("/vsi"):  # GDAL's virtual file systems (/vsicurl/, /vsizip/ ...): files only
        raise ImportFileError(path.name, "is not a file path")
    fmt = detect_format(path)
    if fmt == "csv":
        layers = [read_csv(path, srid_override=srid_override)]
    elif fmt == "geojson":
        read = read_geojson(path, label=path.name, srid_override=srid_override)
        layers = [
            SourceLayer(read.name, read.frame, read.srid, read.row_errors, read.row_warnings, read.unknown_id_rows)
        ]
        if layer is not None and layer != read.name:
            raise ImportFileError(path.name, f"has no layer {layer!r}; its layer is: {read.name}")
    elif fmt == "shapefile_zip":
        layers = list(_read_zipped_shapefiles(path, layer=layer, srid_override=srid_override))
    else:
        layers = _read_ogr_file(path, fmt, layer=layer, srid_override=srid_override)
    for each in layers:
        _check_geometries(each)
    return layers


def _read_ogr_file(path: Path, fmt: str, *, layer: str | None, srid_override: int | None) -> list[SourceLayer]:
    driver = OGR_DRIVERS[fmt]
    _sniff(path, fmt, path.name)
    _lock_down(path.name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GDAL's warnings about a file that then fails say nothing more
            names = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # noqa: BLE001 - GDAL's errors are many; the message is what matters
        raise ImportFileError(path.name, f"cannot be read as {driver}: {exc}") from exc
    if layer is not None:
        if layer not in names:
            raise ImportFileError(path.name, f"has no layer {layer!r}; its layers are: {', '.join(names)}")
        names = [layer]
    return [_read_ogr_layer(path, name, driver=driver, srid_override=srid_override) for name in names]


def _lock_down(label: str) -> None:
    try:
        ensure_locked_down()
    except GdalNotLockedDown as exc:
        raise ImportFileError(
            label, f"GeoPackage and Shapefile reading is disabled on this server: GDAL cannot be restricted ({exc})"
        ) from exc


def _read_ogr_layer(
    path: Path, name: str, *, driver: str, srid_override: int | None, label: str | None = None
) -> SourceLayer:
    label = label or path.name
    try:
        info = pyogrio.read_info(path, layer=name, force_feature_count=False)
        if info["driver"] != driver:
            raise ImportFileError(label, f"was opened as {info['driver']}, expected {driver}")
        fields = [str(f).lower() for f in info["fields"]]
        # GDAL's feature id is only worth keeping when the layer has no id column of its own.
        keep_fid = not ({"id", "fid"} & set(fields))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyogrio warns about mixed-type columns; we report per row
            meta, table = pyogrio.read_arrow(path, layer=name, return_fids=keep_fid, datetime_as_string=True)
    except ImportFileError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ImportFileError(label, f"layer {name!r} cannot be read: {exc}") from exc
    geometry_name = meta["geometry_name"] or "wkb_geometry"
    if geometry_name not in table.column_names:
        raise ImportFileError(label, f"layer {name!r} has no geometry column")
    wkb = _binary_column(table.column(geometry_name))
    frame = table.drop_columns([geometry_name]).to_pandas()
    if keep_fid:
        fid_column = meta["fid_column"]
        frame = frame[[fid_column, *[c for c in frame.columns if c != fid_column]]].rename(columns={fid_column: "fid"})
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # the feature's position in the layer, as users count
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid WKB: reported per row below
        geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    row_errors: dict[int, tuple[str, str]] = {}
    for i in np.flatnonzero(pd.notna(wkb) & pd.isna(geoms)):
        row_errors[int(i) + 1] = ("geometry", f"cannot be read: {_wkb_error(wkb[i])}")
    srid = srid_override if srid_override is not None else epsg_of(meta["crs"], label)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=None)
    return SourceLayer(name=name, frame=gdf, srid=srid, row_errors=row_errors)


def _binary_column(column: Any) -> np.ndarray:
    """A WKB column of an Arrow table as a numpy array of bytes (None for a missing geometry)."""
    import pyarrow as pa

    if isinstance(column.type, pa.ExtensionType):  # geoarrow.wkb: the bytes are its storage
        column = pa.chunked_array([c.storage for c in column.chunks], type=column.type.storage_type)
    values: np.ndarray = column.to_numpy(zero_copy_only=False)
    return values


def _wkb_error(raw: bytes) -> str:
    try:
        shapely.from_wkb(raw)
    except Exception as exc:  # noqa: BLE001 - GEOS's reason is what the user needs
        return str(exc).removeprefix("IllegalArgumentException: ")
    return "unknown error"


def _check_geometries(layer: SourceLayer) -> None:
    """Reject rows whose geometry has a coordinate that is not a finite number (NaN or infinity): GDAL
    and WKT readers let them through, PostGIS cannot check or transform them."""
    geoms = np.asarray(layer.frame.geometry.array, dtype=object)
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    if not len(coords):
        return
    bad = np.unique(index[~np.isfinite(coords).all(axis=1)])
    for i in bad:
        row = int(layer.frame.index[i])
        layer.row_errors.setdefault(row, ("geometry", "has a coordinate that is not a finite number (NaN or infinity)"))


def _read_zipped_shapefiles(path: Path, *, layer: str | None, srid_override: int | None) -> Iterator[SourceLayer]:
    with tempfile.TemporaryDirectory(prefix="citytwin-zip-") as tmp:
        shapefiles = unpack_shapefiles(path, Path(tmp), label=path.name)
        if layer is not None and layer not in {s.name for s in shapefiles}:
            found = ", ".join(s.name for s in shapefiles)
            raise ImportFileError(path.name, f"has no layer {layer!r}; its layers are: {found}")
        _lock_down(path.name)
        for shp in shapefiles:
            if layer is not None and shp.name != layer:
                continue
            _sniff(shp.path, "shapefile", shp.label)
            read = _read_ogr_layer(
                shp.path, shp.path.stem, driver="ESRI Shapefile", srid_override=srid_override, label=shp.label
            )
            read.name = shp.name
            yield read


def read_csv(path: Path, *, srid_override: int | None) -> SourceLayer:
    """A CSV with a WKT column (needs --srid: CSV carries no CRS) or lon/lat columns (WGS 84 by definition)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # noqa: BLE001
        raise ImportFileError(path.name, f"cannot be read as CSV: {exc}") from exc
    columns = {c.lower(): c for c in frame.columns}
    row_errors: dict[int, tuple[str, str]] = {}
    wkt_col = next((columns[c] for c in CSV_WKT_COLUMNS if c in columns), None)
    lon_col = next((columns[c] for c in CSV_LON_COLUMNS if c in columns), None)
    lat_col = next((columns[c] for c in CSV_LAT_COLUMNS if c in columns), None)
    if wkt_col is not None:
        srid = srid_override
        geoms = shapely.from_wkt(frame[wkt_col].where(frame[wkt_col] != "", None), on_invalid="ignore")
        for i, (raw, geom) in enumerate(zip(frame[wkt_col], geoms, strict=True)):
            if geom is None:
                reason = "empty" if raw == "" else f"not valid WKT: {raw[:60]!r}"
                row_errors[i + 2] = (wkt_col, reason)
        frame = frame.drop(columns=[wkt_col])
    elif lon_col is not None and lat_col is not None:
        srid = srid_override if srid_override is not None else 4326
        lon = pd.to_numeric(frame[lon_col], errors="coerce")
        lat = pd.to_numeric(frame[lat_col], errors="coerce")
        for i in frame.index[lon.isna() | lat.isna()]:
            bad = lon_col if pd.isna(lon[i]) else lat_col
            row_errors[int(i) + 2] = (bad, f"not a number: {frame.at[i, bad]!r}")
        geoms = shapely.points(lon.to_numpy(), lat.to_numpy())
        geoms = [None if (pd.isna(x) or pd.isna(y)) else g for g, x, y in zip(geoms, lon, lat, strict=True)]
    else:
        raise ImportFileError(
            path.name,
            f"CSV needs a WKT column ({', '.join(CSV_WKT_COLUMNS)}) or lon and lat columns; it has: {', '.join(frame.columns)}",
        )
    # Row numbers in a CSV count the header as line 1, as a spreadsheet shows them.
    frame.index = frame.index + 2
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(list(geoms), index=frame.index), crs=None)
    gdf["fid"] = gdf.index
    return SourceLayer(name=path.stem, frame=gdf, srid=srid, row_errors=row_errors)
