"""What GDAL may do when the loader reads a file: open GeoPackage and Shapefile, nothing else.

GDAL picks a driver by a file's content, not its name, and several of its drivers open other files and
URLs (VRT, GDALG pipelines, WFS/OAPIF, /vsicurl/ ...). pyogrio cannot be told which driver to use, so
before the loader lets GDAL open anything, every driver but the allowed ones is deregistered from the
GDAL that pyogrio bundles (through GDAL's public C API), and the network is switched off in GDAL's
configuration as a second wall. GeoJSON never reaches GDAL at all (apps/imports/geojson.py).

This applies to the whole process: pyogrio is used for nothing else here. If the lock-down cannot be
applied (a pyogrio built against a GDAL we cannot find), GDAL formats are refused, never read unguarded.
GeoDjango's own GDAL (the system library) is a different library; it only ever sees EPSG codes."""

from __future__ import annotations

import ctypes
import logging
import threading
from pathlib import Path

import pyogrio

log = logging.getLogger(__name__)

ALLOWED_DRIVERS = frozenset({"GPKG", "ESRI Shapefile"})

# Second wall, should a driver ever try: no URL passes /vsicurl/'s extension filter, HTTP gives up at
# once, PROJ does not download grids, directories are not listed (a shapefile's sidecars are found by
# name), and SQL functions stay out of a GeoPackage's views and triggers.
GDAL_CONFIG = {
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".citytwin-network-disabled",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "PROJ_NETWORK": "OFF",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "ALLOW_OGR_SQL_FUNCTIONS_FROM_TRIGGER_AND_VIEW": "NO",
    "OGR_SQLITE_LOAD_EXTENSIONS": None,
    "SHAPE_RESTORE_SHX": "NO",
}

_lock = threading.Lock()


class GdalNotLockedDown(RuntimeError):
    """pyogrio's GDAL could not be restricted to the allowed drivers."""


def _bundled_libgdal() -> ctypes.CDLL:
    # pyogrio's wheels carry their own GDAL next to the package; loading it again by path returns the
    # copy already in the process (the same one pyogrio calls), not a second one.
    libs = Path(pyogrio.__file__).resolve().parent.parent / "pyogrio.libs"
    found = sorted(libs.glob("libgdal*.so*"))
    if not found:
        raise GdalNotLockedDown(f"pyogrio's GDAL library was not found in {libs}")
    lib = ctypes.CDLL(str(found[0]))
    lib.GDALGetDriverCount.restype = ctypes.c_int
    lib.GDALGetDriverCount.argtypes = []
    lib.GDALGetDriver.restype = ctypes.c_void_p
    lib.GDALGetDriver.argtypes = [ctypes.c_int]
    lib.GDALGetDriverShortName.restype = ctypes.c_char_p
    lib.GDALGetDriverShortName.argtypes = [ctypes.c_void_p]
    lib.GDALDeregisterDriver.restype = None
    lib.GDALDeregisterDriver.argtypes = [ctypes.c_void_p]
    return lib


def _registered() -> set[str]:
    return set(pyogrio.list_drivers())


def ensure_locked_down() -> None:
    """Restrict pyogrio's GDAL to ALLOWED_DRIVERS with the network off. Cheap when already done; call
    it before every GDAL open (something could have registered the drivers again). Raises
    GdalNotLockedDown if GDAL still has other drivers afterwards."""
    if _registered() <= ALLOWED_DRIVERS:
        return
    with _lock:
        if _registered() <= ALLOWED_DRIVERS:
            return
        pyogrio.set_gdal_config_options(GDAL_CONFIG)
        lib = _bundled_libgdal()
        handles = [lib.GDALGetDriver(i) for i in range(lib.GDALGetDriverCount())]
        for handle in handles:
            name = (lib.GDALGetDriverShortName(handle) or b"").decode()
            if name not in ALLOWED_DRIVERS:
                lib.GDALDeregisterDriver(handle)
        left = _registered()
        if not left <= ALLOWED_DRIVERS:
            raise GdalNotLockedDown(f"GDAL still has drivers {sorted(left - ALLOWED_DRIVERS)}")
        log.info("GDAL restricted to %s, network off", ", ".join(sorted(left)))
