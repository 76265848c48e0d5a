"""GeoJSON, read in Python: GDAL never sees it.

GDAL chooses a driver by content, so a ".geojson" could be opened as VRT or a GDALG pipeline (which read
other files and URLs), and GDAL's GeoJSON driver itself fetches a `crs` of type "link". Here the file is
parsed with the json module, its `crs` must name an EPSG code (nothing is ever fetched), and each
feature is checked on its own: a bad geometry (unclosed ring, NaN coordinate, too few points, wrong
nesting) or an unreadable feature rejects that row with its reason, not the file.

Ids as GDAL gave them, so that reloading a file loaded before keeps its natural keys: a property "id"
(or "fid") wins; else top-level ids, as column "fid" when all are integers (a feature without one gets
its 0-based position), as text column "id" otherwise; with no ids at all, "fid" is the 0-based position.
The layer is named by the collection's "name" member, else the file's stem. Geometries are checked and built
by geojson_geometry.py."""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from .exceptions import ImportFileError
from .geojson_geometry import GEOMETRY_TYPES, _BadGeometry, _GeometryBuilder, _shown

WGS84 = 4326
_EPSG_NAME = re.compile(
    r"^(?:urn:(?:x-)?ogc:def:crs:epsg:[\d.]*:|epsg:{1,2}|https?://www\.opengis\.net/def/crs/epsg/[\d.]+/)(\d{1,6})$",
    re.IGNORECASE,
)
_CRS84_NAME = re.compile(
    r"^(?:urn:ogc:def:crs:ogc:[\d.]*:crs84|ogc:crs84|crs84|https?://www\.opengis\.net/def/crs/ogc/[\d.]+/crs84)$",
    re.IGNORECASE,
)
_WKT_START = re.compile(r"^\s*(?:PROJCS|GEOGCS|GEOCCS|COMPD_CS|PROJCRS|GEOGCRS|GEODCRS|BASEGEOGCRS|COMPOUNDCRS)\[")
_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SCALARS = frozenset({str, int, float, bool, type(None)})  # what json.loads makes besides dicts and lists


@dataclass
class GeoJsonLayer:
    name: str
    frame: gpd.GeoDataFrame  # index: 1-based feature number
    srid: int | None
    row_errors: dict[int, tuple[str, str]] = field(default_factory=dict)
    row_warnings: list[tuple[int, str, str]] = field(default_factory=list)
    unknown_id_rows: set[int] = field(default_factory=set)


def epsg_from_crs_member(crs: Any, label: str) -> int:
    """The EPSG code a GeoJSON `crs` member names. Only codes are accepted (EPSG:n, OGC URNs and
    opengis.net URIs of EPSG codes, CRS84, or WKT text): a "link" or "url" CRS would have GDAL fetch it."""
    if crs is None:
        return WGS84
    if not isinstance(crs, dict):
        raise ImportFileError(label, f"its crs member is not an object: {_shown(crs)}")
    kind = crs.get("type")
    raw_props = crs.get("properties")
    props: dict[str, Any] = raw_props if isinstance(raw_props, dict) else {}
    if kind == "EPSG" and isinstance(props.get("code"), int | str) and str(props["code"]).isdigit():
        return int(props["code"])
    if kind == "name" and isinstance(props.get("name"), str):
        name = props["name"].strip()
        if match := _EPSG_NAME.match(name):
            return int(match.group(1))
        if _CRS84_NAME.match(name):
            return WGS84
        if _WKT_START.match(name):
            return _epsg_of_wkt(name, label)
    raise ImportFileError(
        label,
        f"its crs member {_shown(crs)} does not name an EPSG code; only a CRS given by code is accepted "
        "(e.g. urn:ogc:def:crs:EPSG::3067), nothing is fetched. Pass --srid to say which CRS the coordinates use",
    )


def _epsg_of_wkt(wkt: str, label: str) -> int:
    from pyproj import CRS  # WKT is parsed locally by PROJ; it names no resource to fetch

    try:
        code = CRS.from_wkt(wkt).to_epsg(min_confidence=70)
    except Exception as exc:  # noqa: BLE001 - pyproj raises CRSError and friends
        raise ImportFileError(label, f"its crs member holds WKT that cannot be read: {exc}") from exc
    if code is None:
        raise ImportFileError(label, "its crs member's WKT has no EPSG code; reproject the file or pass --srid")
    return int(code)


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    # json.loads builds millions of lists; the cyclic GC would scan them again and again (measured: 2.4 s
    # for 20 MB with it, 0.4 s without). Nothing made here is cyclic, and all of it is freed (by reference
    # counting) before the GC is back on. Mapping (mapping.py) and staging (loading.py) turn it off too: they
    # make a dict or tuple per row, and with the GC on a third of their time went to its passes.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_json(path: Path, label: str) -> tuple[Any, str]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(label, f"is not UTF-8 text (GeoJSON must be), byte {exc.start}") from exc
    try:
        return json.loads(text), text
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            label,
            f"does not look like a GeoJSON file: it is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
        ) from exc
    except RecursionError as exc:
        raise ImportFileError(label, "is not GeoJSON: its JSON is nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer of more digits than Python converts (4,300)
        raise ImportFileError(label, f"does not look like a GeoJSON file: {exc}") from exc


# ------------------------------------------------------------------------------------------ features
def _features(data: Any, label: str) -> tuple[list[Any], dict[str, Any]]:
    if not isinstance(data, dict):
        raise ImportFileError(label, "is not GeoJSON: the top level is not an object")
    kind = data.get("type")
    if kind == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list):
            raise ImportFileError(label, "is not GeoJSON: its FeatureCollection has no features array")
        return features, data
    if kind == "Feature":
        return [data], data
    if kind == "CityJSON":  # reached when "type" is not the first member (readers.py sniffs the start)
        raise ImportFileError(label, "is a CityJSON file; name it .city.json to load it as CityJSON")
    if kind in GEOMETRY_TYPES or kind == "GeometryCollection":
        return [{"type": "Feature", "properties": {}, "geometry": data}], data
    raise ImportFileError(
        label, f"is not GeoJSON: expected a FeatureCollection, Feature or geometry, found type {_shown(kind)}"
    )


def _fix_surrogates(value: Any) -> Any:
    """Lone UTF-16 surrogates (from \\udXXX escapes) cannot be stored as UTF-8: each becomes U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def read_geojson(path: Path, *, label: str, srid_override: int | None) -> GeoJsonLayer:
    with no_cyclic_gc():
        return _read(path, label=label, srid_override=srid_override)


def _read(path: Path, *, label: str, srid_override: int | None) -> GeoJsonLayer:
    data, text = _load_json(path, label)
    features, top = _features(data, label)
    srid = srid_override if srid_override is not None else epsg_from_crs_member(top.get("crs"), label)
    top_name = top.get("name")
    name = top_name if isinstance(top_name, str) and top_name else path.name.split(".")[0]
    fix_text = bool(_LONE_SURROGATE_ESCAPE.search(text))
    del text

    layer = GeoJsonLayer(name=name, frame=gpd.GeoDataFrame(), srid=srid)
    records: list[dict[str, Any]] = []
    top_ids: list[Any] = []
    keys: set[str] = set()
    builder = _GeometryBuilder(len(features))
    for index, feature in enumerate(features):
        row = index + 1
        props: dict[str, Any] = {}
        top_id = None
        if not isinstance(feature, dict):
            layer.row_errors[row] = ("feature", f"is not a GeoJSON Feature object: {_shown(feature)}")
            layer.unknown_id_rows.add(row)
        else:
            raw_props = feature.get("properties")
            top_id = feature.get("id")
            if isinstance(raw_props, dict):
                props = raw_props
            elif raw_props is not None:
                layer.row_errors[row] = ("properties", f"is not an object: {_shown(raw_props)}")
                if top_id is None:
                    layer.unknown_id_rows.add(row)
            if row not in layer.row_errors:
                geometry = feature.get("geometry")
                if geometry is not None:
                    try:
                        builder.add(index, geometry)
                    except _BadGeometry as exc:
                        layer.row_errors[row] = ("geometry", str(exc))
                    except (shapely.errors.GEOSException, ValueError, RecursionError) as exc:
                        layer.row_errors[row] = ("geometry", f"cannot be built: {exc}")
        if not _SCALARS.issuperset(map(type, props.values())):  # the usual row has only scalars: one C-speed check
            for key, value in props.items():
                if isinstance(value, dict | list):
                    props[key] = json.dumps(value, ensure_ascii=False)
        if fix_text:
            fixed = {_fix_surrogates(k): _fix_surrogates(v) for k, v in props.items()}
            if fixed != props:
                layer.row_warnings.append((row, "properties", "invalid characters (lone surrogates) replaced"))
            props = fixed
            top_id = _fix_surrogates(top_id)
        keys.update(props)
        records.append(props)
        top_ids.append(top_id)
    geometries = builder.build()
    for index, reason in builder.errors.items():
        layer.row_errors[index + 1] = ("geometry", reason)
    del data, top, features, builder  # freed now, while the cyclic GC is off, so it never has to scan them

    frame = pd.DataFrame.from_records(records, index=pd.RangeIndex(1, len(records) + 1))
    if "geometry" in frame.columns:  # a property called "geometry" would clash with the geometry column
        frame = frame.rename(columns={"geometry": "geometry_property"})
    lowered = {k.lower() for k in keys}
    if "id" not in lowered:
        present = [i for i in top_ids if i is not None]
        all_int = all(isinstance(i, int) and not isinstance(i, bool) for i in present)
        if present and not all_int:
            frame["id"] = [None if i is None else str(i) for i in top_ids]
        elif "fid" not in lowered:
            frame["fid"] = [i if i is not None else n for n, i in enumerate(top_ids)]
    del records
    layer.frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometries, index=frame.index), crs=None)
    return layer
