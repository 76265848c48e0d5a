"""Unpacking a zipped Shapefile without trusting the zip: only the Shapefile's own parts are written, in
chunks, each counted as it is really decompressed (headers can lie), under caps on entries, bytes and
compression ratio. Anything a zip can throw (corrupt data, bad CRC, unsupported or encrypted members)
becomes an ImportFileError naming the archive and the member.

Parts are written under names we make (layer1.shp, layer1.dbf, ...), never the member's own name: GDAL
reads some names as data (a name holding VRT XML would be parsed as VRT). The layer keeps the
member's stem for reports and --layer."""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .exceptions import ImportFileError

SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
MAX_ENTRIES = 200  # entries in the archive, read or not
MAX_UNPACKED_BYTES = 2 * 1024**3  # all parts together, as really decompressed
MAX_RATIO = 200  # decompressed / compressed per member; deflate's own limit is about 1,030
RATIO_CHECK_AFTER = 10 * 1024**2  # small members may compress well (blank-padded .dbf): no ratio check below
CHUNK = 1024**2
# bzip2 and LZMA decompress a whole input chunk at once (Python gives no output limit for them), so a
# small chunk can still become gigabytes in memory: only stored and deflated members are unpacked.
SUPPORTED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


@dataclass(frozen=True)
class UnpackedShapefile:
    name: str  # the member's stem: the layer's name
    label: str  # "<archive>/<member>" for messages
    path: Path  # our copy of the .shp, its parts beside it


def _is_junk(member: PurePosixPath) -> bool:
    # macOS adds "__MACOSX/._name.shp" resource forks: not Shapefiles, whatever their suffix says.
    return "__MACOSX" in member.parts or member.name.startswith("._")


def unpack_shapefiles(path: Path, into: Path, *, label: str) -> list[UnpackedShapefile]:
    """Write the Shapefile parts of the zip at `path` into the directory `into`; one entry per .shp."""
    try:
        archive = zipfile.ZipFile(path)
    except (*_ZIP_ERRORS, ValueError, OSError) as exc:
        raise ImportFileError(label, f"is not a valid zip archive ({exc})") from exc
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ENTRIES:
            raise ImportFileError(label, f"zip archive has {len(members)} entries; at most {MAX_ENTRIES} are accepted")
        parts = []
        for member in members:
            name = PurePosixPath(member.filename.replace("\\", "/"))
            if member.is_dir() or _is_junk(name) or name.suffix.lower() not in SHAPEFILE_PARTS:
                continue
            parts.append((member, name))
        declared = sum(m.file_size for m, _ in parts)
        if declared > MAX_UNPACKED_BYTES:
            raise ImportFileError(label, f"zip archive unpacks to {declared:,} bytes; at most {MAX_UNPACKED_BYTES:,}")
        # One folder-and-stem per Shapefile, matched case-insensitively as GDAL does on Windows.
        groups: dict[tuple[str, str], int] = {}
        for _, name in parts:
            groups.setdefault((str(name.parent).lower(), name.stem.lower()), len(groups) + 1)
        written = 0
        unpacked = []
        for member, name in parts:
            number = groups[(str(name.parent).lower(), name.stem.lower())]
            target = into / f"layer{number}{name.suffix.lower()}"
            written += _unpack(archive, member, target, label=f"{label}/{member.filename}", written_before=written)
            if name.suffix.lower() == ".shp":
                unpacked.append(UnpackedShapefile(name=name.stem, label=f"{label}/{member.filename}", path=target))
    if not unpacked:
        raise ImportFileError(label, "zip archive holds no .shp file")
    return sorted(unpacked, key=lambda u: u.label)


def _unpack(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, *, label: str, written_before: int) -> int:
    if member.flag_bits & 0x1:
        raise ImportFileError(label, "is encrypted; zip it without a password")
    if member.compress_type not in SUPPORTED_METHODS:
        raise ImportFileError(
            label, f"uses compression method {member.compress_type}; zip it with the standard method (deflate)"
        )
    size = 0
    try:
        with archive.open(member) as src, open(target, "wb") as dst:
            while chunk := src.read(CHUNK):
                size += len(chunk)
                if written_before + size > MAX_UNPACKED_BYTES:
                    raise ImportFileError(label, f"zip archive unpacks to more than {MAX_UNPACKED_BYTES:,} bytes")
                if size > RATIO_CHECK_AFTER and size > MAX_RATIO * max(member.compress_size, 1):
                    raise ImportFileError(
                        label,
                        f"expands more than {MAX_RATIO} times its compressed size; refused as a possible zip bomb",
                    )
                dst.write(chunk)
    except ImportFileError:
        raise
    except (*_ZIP_ERRORS, ValueError) as exc:
        raise ImportFileError(label, f"cannot be unpacked: {exc}") from exc
    return size
