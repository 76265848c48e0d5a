"""CityJSON documents built in tests: boxes (LoD1 solids), gabled houses (LoD2 solids with a roof), written
as CityJSON or CityJSONSeq with a transform. Coordinates are given in real units; the writer turns them
into integer vertices with the document's transform."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Point3 = tuple[float, float, float]

HELSINKI = "https://www.opengis.net/def/crs/EPSG/0/3067"
RD_NAP = "https://www.opengis.net/def/crs/EPSG/0/7415"  # compound: RD New (EPSG:28992) + NAP height
SCALE = 0.001


@dataclass
class Geometry:
    """A geometry in real coordinates: boundaries hold Point3 where CityJSON holds vertex indices."""

    type: str
    lod: str | None
    boundaries: Any
    extra: dict[str, Any] = field(default_factory=dict)


def box(x0: float, y0: float, x1: float, y1: float, z0: float, z1: float, lod: str | None = "1.2") -> Geometry:
    """An LoD1 block: ground, roof and four walls, each oriented outwards."""
    b = [(x0, y0, z0), (x1, y0, z0), (x1, y1, z0), (x0, y1, z0)]
    t = [(x, y, z1) for x, y, _ in b]
    ground = [[b[0], b[3], b[2], b[1]]]
    roof = [[t[0], t[1], t[2], t[3]]]
    walls = [[[b[i], b[(i + 1) % 4], t[(i + 1) % 4], t[i]]] for i in range(4)]
    return Geometry("Solid", lod, [[ground, roof, *walls]])


def gabled_house(x0: float, y0: float, x1: float, y1: float, z0: float, eaves: float, ridge: float) -> Geometry:
    """An LoD2.2 house with a gable roof whose ridge runs along x at the middle of y, with semantics."""
    ym = (y0 + y1) / 2
    b = [(x0, y0, z0), (x1, y0, z0), (x1, y1, z0), (x0, y1, z0)]
    e = [(x0, y0, eaves), (x1, y0, eaves), (x1, y1, eaves), (x0, y1, eaves)]
    r = [(x0, ym, ridge), (x1, ym, ridge)]
    surfaces = [
        [[b[0], b[3], b[2], b[1]]],  # ground
        [[b[0], b[1], e[1], e[0]]],  # south wall
        [[b[1], b[2], e[2], r[1], e[1]]],  # east gable
        [[b[2], b[3], e[3], e[2]]],  # north wall
        [[b[3], b[0], e[0], r[0], e[3]]],  # west gable
        [[e[0], e[1], r[1], r[0]]],  # south roof
        [[e[2], e[3], r[0], r[1]]],  # north roof
    ]
    semantics = {
        "surfaces": [{"type": "GroundSurface"}, {"type": "WallSurface"}, {"type": "RoofSurface"}],
        "values": [[0, 1, 1, 1, 1, 2, 2]],
    }
    return Geometry("Solid", "2.2", [surfaces], {"semantics": semantics})


def _index(value: Any, vertices: dict[Point3, int]) -> Any:
    if isinstance(value, tuple):
        return vertices.setdefault(value, len(vertices))
    return [_index(v, vertices) for v in value]


def _encode(objects: dict[str, dict[str, Any]], translate: Point3) -> tuple[dict[str, Any], list[list[int]]]:
    vertices: dict[Point3, int] = {}
    encoded = {}
    for object_id, obj in objects.items():
        out = {k: v for k, v in obj.items() if k != "geometry"}
        geometries = []
        for g in obj.get("geometry", []):
            if isinstance(g, Geometry):
                item: dict[str, Any] = {"type": g.type, "boundaries": _index(g.boundaries, vertices), **g.extra}
                if g.lod is not None:
                    item["lod"] = g.lod
                geometries.append(item)
            else:
                geometries.append(g)  # raw JSON, e.g. a broken geometry
        out["geometry"] = geometries
        encoded[object_id] = out
    ints = [[round((c - t) / SCALE) for c, t in zip(p, translate, strict=True)] for p in vertices]
    return encoded, ints


def header(version: str = "2.0", crs: str | None = HELSINKI, translate: Point3 = (0.0, 0.0, 0.0)) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": "CityJSON",
        "version": version,
        "transform": {"scale": [SCALE, SCALE, SCALE], "translate": list(translate)},
        "CityObjects": {},
        "vertices": [],
    }
    if crs is not None:
        doc["metadata"] = {"referenceSystem": crs}
    return doc


def write_cityjson(path: Path, objects: dict[str, dict[str, Any]], **kwargs: Any) -> Path:
    doc = header(**kwargs)
    doc["CityObjects"], doc["vertices"] = _encode(objects, tuple(doc["transform"]["translate"]))
    path.write_text(json.dumps(doc))
    return path


def write_cityjson_seq(path: Path, features: list[dict[str, dict[str, Any]]], **kwargs: Any) -> Path:
    """One CityJSONFeature per entry of `features` (its objects; the first is the feature's id)."""
    doc = header(**kwargs)
    lines = [json.dumps(doc)]
    for objects in features:
        encoded, vertices = _encode(objects, tuple(doc["transform"]["translate"]))
        lines.append(
            json.dumps(
                {"type": "CityJSONFeature", "id": next(iter(objects)), "CityObjects": encoded, "vertices": vertices}
            )
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def building(*geometries: Geometry | dict[str, Any], **attributes: Any) -> dict[str, Any]:
    return {"type": "Building", "attributes": attributes, "geometry": list(geometries)}
