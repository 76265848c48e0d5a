"""Reading source files into layers of features, with their CRS.

Formats are recognised by extension and opened with an explicit GDAL driver from an allow-list: a file
never chooses its own driver (GDAL would otherwise open VRT, /vsicurl/ or XML that reach the network or
the file system). CRSs are reduced to an EPSG code known to PostGIS; anything else is refused."""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from .exceptions import ImportFileError

OGR_DRIVERS = {"geojson": "GeoJSON", "gpkg": "GPKG", "shapefile": "ESRI Shapefile"}
CSV_WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom")
CSV_LON_COLUMNS = ("lon", "lng", "longitude", "x")
CSV_LAT_COLUMNS = ("lat", "latitude", "y")
MAX_ZIP_MEMBERS = 200
MAX_ZIP_UNCOMPRESSED = 2 * 1024**3


@dataclass
class SourceLayer:
    """One layer of a source file: its features (a GeoDataFrame; 'geometry' may hold None for rows that
    could not be parsed, explained in `row_errors`), its EPSG code (None if the file has none) and the
    1-based row number of each feature in the file."""

    name: str
    frame: gpd.GeoDataFrame
    srid: int | None
    row_errors: dict[int, tuple[str, str]] = field(default_factory=dict)  # row -> (field, reason)


def detect_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".osm.pbf", ".pbf")):
        return "osm_pbf"
    if name.endswith((".osm", ".osm.xml")):
        return "osm_xml"
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
        "unsupported file type; expected .osm.pbf, .osm, .geojson, .gpkg, .zip (Shapefile), .shp or .csv",
    )


def epsg_of(crs: CRS | None, path_name: str) -> int | None:
    """The EPSG code of a file's CRS (None when the file declares none)."""
    if crs is None:
        return None
    code = crs.to_epsg(min_confidence=70)
    if code is None:
        raise ImportFileError(
            path_name,
            f"its CRS ({crs.name}) has no EPSG code; reproject it to a standard CRS or pass --srid",
        )
    return int(code)


# What each format's bytes must start with; anything else never reaches GDAL (a ".geojson" holding VRT
# XML would otherwise be opened by GDAL's VRT driver, which reads other files and URLs).
def _sniff(path: Path, fmt: str) -> None:
    with open(path, "rb") as fh:
        head = fh.read(64)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    ok = {
        "geojson": stripped.startswith(b"{"),
        "gpkg": head.startswith(b"SQLite format 3\x00"),
        "shapefile": head[:4] == b"\x00\x00\x27\x0a",
    }[fmt]
    if not ok:
        raise ImportFileError(path.name, f"does not look like a {OGR_DRIVERS[fmt]} file (its first bytes do not match)")


def read_layers(path: Path, *, layer: str | None = None, srid_override: int | None = None) -> list[SourceLayer]:
    """All layers of a non-OSM file (or only `layer`), each with its CRS."""
    fmt = detect_format(path)
    if fmt == "csv":
        return [read_csv(path, srid_override=srid_override)]
    if fmt == "shapefile_zip":
        return list(_read_zipped_shapefiles(path, layer=layer, srid_override=srid_override))
    driver = OGR_DRIVERS[fmt]
    _sniff(path, fmt)
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # noqa: BLE001 - GDAL's errors are many; the message is what matters
        raise ImportFileError(path.name, f"cannot be read as {driver}: {exc}") from exc
    if layer is not None:
        if layer not in names:
            raise ImportFileError(path.name, f"has no layer {layer!r}; its layers are: {', '.join(names)}")
        names = [layer]
    return [_read_ogr_layer(path, name, driver=driver, srid_override=srid_override) for name in names]


def _read_ogr_layer(
    path: Path, name: str, *, driver: str, srid_override: int | None, label: str | None = None
) -> SourceLayer:
    try:
        fields: list[str] = []
        if driver != "GeoJSON":  # a GeoJSON file starts with "{" (sniffed): no other driver can claim it
            info = pyogrio.read_info(path, layer=name)
            if info["driver"] != driver:
                raise ImportFileError(label or path.name, f"was opened as {info['driver']}, expected {driver}")
            fields = [str(f).lower() for f in info["fields"]]
        else:
            fields = [str(f).lower() for f in pyogrio.read_info(path, layer=name, force_feature_count=False)["fields"]]
        # GDAL's feature id is only worth keeping when the layer has no id column of its own (GeoJSON
        # puts an integer "id" in both places, and reading both breaks the Arrow path).
        keep_fid = not ({"id", "fid"} & set(fields))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyogrio warns about mixed-type JSON columns; we report per row
            frame = pyogrio.read_dataframe(path, layer=name, fid_as_index=keep_fid, use_arrow=True)
    except ImportFileError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ImportFileError(label or path.name, f"layer {name!r} cannot be read: {exc}") from exc
    srid = srid_override if srid_override is not None else epsg_of(frame.crs, label or path.name)
    frame = frame.reset_index(drop=not keep_fid)  # a kept feature id becomes column "fid"
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # the feature's position in the layer, as users count
    return SourceLayer(name=name, frame=frame, srid=srid)


def _read_zipped_shapefiles(path: Path, *, layer: str | None, srid_override: int | None) -> Iterator[SourceLayer]:
    import tempfile

    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ImportFileError(path.name, "is not a valid zip archive") from exc
    with archive, tempfile.TemporaryDirectory(prefix="citytwin-zip-") as tmp:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > MAX_ZIP_UNCOMPRESSED:
            raise ImportFileError(path.name, "zip archive is too large or has too many files")
        shapefiles = []
        for member in members:
            member_path = PurePosixPath(member.filename)
            if member.is_dir() or member_path.is_absolute() or ".." in member_path.parts:
                continue  # never write outside the temporary directory
            target = Path(tmp, *member_path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, open(target, "wb") as dst:
                dst.write(src.read())
            if target.suffix.lower() == ".shp":
                shapefiles.append(target)
        if not shapefiles:
            raise ImportFileError(path.name, "zip archive holds no .shp file")
        for shp in sorted(shapefiles):
            if layer is not None and shp.stem != layer:
                continue
            _sniff(shp, "shapefile")
            yield _read_ogr_layer(
                shp, shp.stem, driver="ESRI Shapefile", srid_override=srid_override, label=f"{path.name}/{shp.name}"
            )


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
