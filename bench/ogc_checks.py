"""The behaviour checks bench_ogc.py prints for ours and pygeoapi: what an OGC API - Features server answers
on the buildings collection, each figure it should give computed by PostGIS in the same run. A cell is what
the server did ("483/10 ok", "absent", "HTTP 200 (400 required)"); nothing here fails the benchmark."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

CRS_CLASS = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"
CENTRE = (24.9443, 60.17165)  # the demo data's centre (bench_tiles.py's tiles hold it)
ITEMS = "/collections/buildings/items"


@dataclass
class Api:
    """One server's OGC API root: get() a path below it, follow() an absolute link it gave."""

    fetch: Callable[[int, str], tuple[int, dict[str, str], bytes]]
    port: int
    prefix: str

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return self.fetch(self.port, self.prefix + path)

    def follow(self, href: str) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(href)
        return self.fetch(self.port, parts.path + ("?" + parts.query if parts.query else ""))

    def items(self, query: str) -> tuple[int, dict[str, str], dict[str, Any]]:
        status, headers, body = self.get(f"{ITEMS}?{query}&f=json")
        return status, headers, (json.loads(body) if status == 200 else {})


def _one(conn: Any, sql: str, params: list[Any] | None = None) -> Any:
    return conn.execute(sql, params or []).fetchone()


def _link(doc: dict[str, Any], rel: str) -> str | None:
    return next((link["href"] for link in doc.get("links", []) if link.get("rel") == rel), None)


def _first_vertex(feature: dict[str, Any]) -> list[float]:
    coords: Any = feature["geometry"]["coordinates"]
    while isinstance(coords[0], list):
        coords = coords[0]
    return coords


def matched(conn: Any, api: Api, metric: int) -> str:
    total = _one(conn, "SELECT count(*) FROM buildings_building")[0]
    status, _, doc = api.items("limit=10")
    if status != 200:
        return f"HTTP {status}"
    got = (doc.get("numberMatched"), doc.get("numberReturned"))
    return f"{got[0]}/{got[1]} " + ("ok" if got == (total, 10) else f"(PostGIS: {total}/10)")


def next_link(conn: Any, api: Api, metric: int) -> str:
    want = [r[0] for r in conn.execute("SELECT id FROM buildings_building ORDER BY id LIMIT 10 OFFSET 10")]
    _, _, doc = api.items("limit=10")
    href = _link(doc, "next")
    if href is None:
        return "no next link"
    status, _, body = api.follow(href)
    got = [f["id"] for f in json.loads(body)["features"]] if status == 200 else []
    return "followed: ids ok" if got == want else f"followed: HTTP {status}, ids {got[:3]}..."


def last_page(conn: Any, api: Api, metric: int) -> str:
    offset = _one(conn, "SELECT count(*) - 3 FROM buildings_building")[0]
    status, _, doc = api.items(f"limit=10&offset={offset}")
    if status != 200:
        return f"HTTP {status}"
    return f"{doc.get('numberReturned')} returned, " + ("a next link (wrong)" if _link(doc, "next") else "no next: ok")


def content_type(conn: Any, api: Api, metric: int) -> str:
    status, headers, _ = api.get(f"{ITEMS}?limit=1&f=json")
    return headers.get("content-type", "none") if status == 200 else f"HTTP {status}"


def crs_class(conn: Any, api: Api, metric: int) -> str:
    status, _, body = api.get("/conformance?f=json")
    if status != 200:
        return f"HTTP {status}"
    return "declared" if CRS_CLASS in json.loads(body).get("conformsTo", []) else "not declared"


def crs_metric(conn: Any, api: Api, metric: int) -> str:
    status, headers, doc = api.items(f"limit=1&crs={quote(EPSG.format(metric), safe='')}")
    if status != 200:
        return f"HTTP {status}"
    feature = doc["features"][0]
    x, y = _first_vertex(feature)
    want = _one(
        conn,
        "WITH g AS (SELECT (ST_DumpPoints(ST_Transform(geom, %s))).geom p FROM buildings_building WHERE id = %s"
        " LIMIT 1) SELECT ST_X(p), ST_Y(p) FROM g",
        [metric, feature["id"]],
    )
    off_mm = max(abs(x - want[0]), abs(y - want[1])) * 1000
    crs = headers.get("content-crs", "no Content-Crs").rsplit("/", 1)[-1].rstrip(">")
    return f"Content-Crs {crs}, off {off_mm:.1f} mm"


def crs_4326(conn: Any, api: Api, metric: int) -> str:
    status, _, doc = api.items(f"limit=1&crs={quote(EPSG.format(4326), safe='')}")
    if status != 200:
        return f"HTTP {status}"
    first, second = _first_vertex(doc["features"][0])[:2]
    return "lat,lon: ok (EPSG order)" if first > 50 > second else "lon,lat (EPSG says lat first)"


def _count_where(conn: Any, where: str, params: list[Any]) -> int:
    return int(_one(conn, f"SELECT count(*) FROM buildings_building WHERE {where}", params)[0])


def bbox_crs84(conn: Any, api: Api, metric: int) -> str:
    box = [CENTRE[0] - 0.002, CENTRE[1] - 0.001, CENTRE[0] + 0.002, CENTRE[1] + 0.001]
    want = _count_where(conn, "ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))", box)
    status, _, doc = api.items("limit=1&bbox=" + ",".join(f"{v:.6f}" for v in box))
    got = doc.get("numberMatched") if status == 200 else f"HTTP {status}"
    return f"{got} " + ("ok" if got == want else f"(PostGIS: {want})")


def bbox_metric(conn: Any, api: Api, metric: int) -> str:
    x, y = _one(conn, "SELECT round(ST_X(p)), round(ST_Y(p)) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s) p", [*CENTRE, metric])  # fmt: skip
    box = [float(x) - 150, float(y) - 80, float(x) + 150, float(y) + 80]
    want = _count_where(
        conn, "ST_Intersects(ST_Transform(geom, %s), ST_MakeEnvelope(%s, %s, %s, %s, %s))", [metric, *box, metric]
    )
    query = "limit=1&bbox=" + ",".join(f"{v:.0f}" for v in box) + f"&bbox-crs={quote(EPSG.format(metric), safe='')}"
    status, _, doc = api.items(query)
    got = doc.get("numberMatched") if status == 200 else f"HTTP {status}"
    return f"{got} " + ("ok" if got == want else f"(PostGIS: {want})")


def property_filter(conn: Any, api: Api, metric: int) -> str:
    use, want = _one(conn, "SELECT use, count(*) FROM buildings_building WHERE use <> 'yes' GROUP BY use ORDER BY 2 DESC LIMIT 1")  # fmt: skip
    status, _, doc = api.items(f"limit=1&use={quote(use)}")
    got = doc.get("numberMatched") if status == 200 else f"HTTP {status}"
    return f"use={use}: {got} " + ("ok" if got == want else f"(PostGIS: {want})")


def unknown_param(conn: Any, api: Api, metric: int) -> str:
    status, _, _ = api.get(f"{ITEMS}?limit=1&f=json&colour=red")
    return f"HTTP {status}" + (" ok" if status == 400 else " (400 required)")


def unknown_crs(conn: Any, api: Api, metric: int) -> str:
    status, _, _ = api.get(f"{ITEMS}?limit=1&f=json&crs={quote(EPSG.format(2393), safe='')}")
    return f"HTTP {status}" + (" ok" if status == 400 else " (400 required)")


def single_item(conn: Any, api: Api, metric: int) -> str:
    pk = _one(conn, "SELECT max(id) FROM buildings_building")[0]
    status, headers, body = api.get(f"/collections/buildings/items/{pk}?f=json")
    ok = status == 200 and json.loads(body).get("id") == pk
    return f"HTTP {status}" + (" ok" if ok else "") + f", {headers.get('content-type', '')[:20]}"


def html_items(conn: Any, api: Api, metric: int) -> str:
    status, headers, _ = api.get(f"{ITEMS}?limit=10&f=html")
    return f"HTTP {status} {headers.get('content-type', '').split(';')[0]}"


CHECKS: list[tuple[str, Callable[[Any, Api, int], str]]] = [
    ("numberMatched/numberReturned at limit=10", matched),
    ("next link at limit=10, followed (ids 11-20 by id)", next_link),
    ("last page (3 left): no next link", last_page),
    ("items Content-Type (f=json)", content_type),
    ("conformance declares Part 2 (crs)", crs_class),
    ("crs=EPSG:<metric>: Content-Crs, 1st vertex vs ST_Transform", crs_metric),
    ("crs=EPSG:4326: axis order", crs_4326),
    ("bbox (CRS84) numberMatched vs PostGIS", bbox_crs84),
    ("bbox + bbox-crs=EPSG:<metric> numberMatched vs PostGIS", bbox_metric),
    ("property filter numberMatched vs PostGIS", property_filter),
    ("unknown parameter colour=red", unknown_param),
    ("crs not offered (EPSG:2393)", unknown_crs),
    ("single item /items/{id}", single_item),
    ("items f=html", html_items),
]
