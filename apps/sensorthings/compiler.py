"""Compile a $filter syntax tree to SQL with parameters over an entity type's relation.

A path through a navigation property (Datastream/ObservedProperty/name eq 'pm2_5') becomes an EXISTS over the
target's relation joined on the navigation's columns, so the role filter of every relation applies to it too.
`Nav/@iot.id eq 'x'` and `@iot.id eq 'x'` become conditions on the relation's own key columns (sensor_id,
property, hourly, ...), which PostgreSQL pushes down to the tables' indexes. Spatial functions run in PostGIS
on a WKT geometry validated by GEOS first (an invalid polygon is a 400, not a PostGIS error)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.gis.geos import GEOSException, GEOSGeometry

from .entities import TYPES, Ctx, EntityType, Nav, SqlParams
from .errors import StaQueryError
from .filter_parser import FUNCTIONS, Call, Compare, Literal, Logical, Node, Not, Path, iso_datetime

OPERATORS = {"eq": "=", "ne": "IS DISTINCT FROM", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
SPATIAL = {
    "st_within": "ST_Within", "st_intersects": "ST_Intersects", "geo.intersects": "ST_Intersects",
    "st_contains": "ST_Contains", "st_disjoint": "ST_Disjoint", "st_equals": "ST_Equals",
    "st_touches": "ST_Touches", "st_overlaps": "ST_Overlaps", "st_crosses": "ST_Crosses",
}  # fmt: skip
WKT = re.compile(
    r"^\s*(?:SRID=4326;)?\s*(POINT|LINESTRING|POLYGON|MULTIPOINT|MULTILINESTRING|MULTIPOLYGON|GEOMETRYCOLLECTION)"
    r"\s*\(",
    re.IGNORECASE,
)
Value = tuple[str, list[Any], str]  # sql, params, kind


class Compiler:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.aliases = 0

    def alias(self) -> str:
        self.aliases += 1
        return f"x{self.aliases}"

    # --- conditions ---
    def condition(self, node: Node, etype: EntityType, alias: str) -> SqlParams:
        if isinstance(node, Logical):
            left, lp = self.condition(node.left, etype, alias)
            right, rp = self.condition(node.right, etype, alias)
            return f"({left} {node.op.upper()} {right})", [*lp, *rp]
        if isinstance(node, Not):
            inner, params = self.condition(node.operand, etype, alias)
            return f"(NOT coalesce({inner}, false))", params
        if isinstance(node, Compare | Call):
            nav = _leading_nav(node, etype)
            if nav is not None:
                return self.through(node, etype, alias, nav)
            if isinstance(node, Compare):
                return self.compare(node, etype, alias)
            sql, params, kind = self.value(node, etype, alias)
            if kind != "boolean":
                raise StaQueryError(f"$filter: {node.name}(...) at character {node.pos} is not a condition")
            return sql, params
        raise StaQueryError(f"$filter: {_describe(node)} is not a condition (compare it with eq, gt, ...)")

    def through(self, node: Compare | Call, etype: EntityType, alias: str, name: str) -> SqlParams:
        nav = etype.navs[name]
        target = TYPES[nav.target]
        shortcut = self.key_shortcut(node, nav, target, alias)
        if shortcut is not None:
            return shortcut
        inner = self.alias()
        relation, params = target.relation(self.ctx, {theirs: (f"{alias}.{mine}", []) for mine, theirs in nav.pairs})
        joins = " AND ".join(f"{inner}.{theirs} = {alias}.{mine}" for mine, theirs in nav.pairs)
        condition, cparams = self.condition(_strip(node, name), target, inner)
        return f"EXISTS (SELECT 1 FROM ({relation}) {inner} WHERE {joins} AND {condition})", [*params, *cparams]

    def key_shortcut(self, node: Compare | Call, nav: Nav, target: EntityType, alias: str) -> SqlParams | None:
        """Nav/@iot.id eq <literal>: the navigation's own columns, no subquery."""
        if not (isinstance(node, Compare) and node.op == "eq"):
            return None
        path, literal = (node.left, node.right) if isinstance(node.left, Path) else (node.right, node.left)
        if not (isinstance(path, Path) and isinstance(literal, Literal) and len(path.segments) == 2):
            return None
        if path.segments[1] not in ("@iot.id", "id") or literal.kind not in ("string", "number"):
            return None
        mine = {theirs: own for own, theirs in nav.pairs}
        key = target.key(str(literal.value))
        if not set(key) <= set(mine):
            return None
        return _key_sql(alias, {mine[column]: value for column, value in key.items()})

    def compare(self, node: Compare, etype: EntityType, alias: str) -> SqlParams:
        for path, literal in ((node.left, node.right), (node.right, node.left)):
            if (
                node.op == "eq"
                and isinstance(path, Path)
                and path.segments in (("@iot.id",), ("id",))
                and isinstance(literal, Literal)
                and literal.kind in ("string", "number")
            ):
                return _key_sql(alias, etype.key(str(literal.value)))
        left = self.value(node.left, etype, alias)
        right = self.value(node.right, etype, alias)
        op = OPERATORS[node.op]
        if left[2] == "null" or right[2] == "null":
            other = right if left[2] == "null" else left
            if node.op not in ("eq", "ne"):
                raise StaQueryError(f"$filter: null can only be compared with eq or ne (character {node.pos})")
            return f"({other[0]} IS {'NOT ' if node.op == 'ne' else ''}NULL)", other[1]
        if left[2] == "jsonpath" or right[2] == "jsonpath":
            return _json_compare(left, right, op, node)
        left, right = _coerce(left, right), _coerce(right, left)
        if left[2] != right[2]:
            raise StaQueryError(
                f"$filter: cannot compare {_describe(node.left)} ({left[2]}) with {_describe(node.right)} "
                f"({right[2]}) at character {node.pos}"
            )
        if left[2] in ("geometry", "json"):
            raise StaQueryError(f"$filter: {left[2]} values cannot be compared with {node.op} (character {node.pos})")
        return f"({left[0]} {op} {right[0]})", [*left[1], *right[1]]

    # --- values ---
    def value(self, node: Node, etype: EntityType, alias: str) -> Value:
        if isinstance(node, Literal):
            if node.kind == "geometry":
                return "ST_GeomFromText(%s, 4326)", [_wkt(node.value)], "geometry"
            if node.kind == "null":
                return "NULL", [], "null"
            cast = {"number": "::numeric", "datetime": "::timestamptz", "boolean": "::boolean", "string": "::text"}
            return f"%s{cast[node.kind]}", [node.value], node.kind
        if isinstance(node, Path):
            return self.path(node, etype, alias)
        if isinstance(node, Call):
            return self.call(node, etype, alias)
        raise StaQueryError(f"$filter: a condition cannot be used as a value: {_describe(node)}")

    def path(self, node: Path, etype: EntityType, alias: str) -> Value:
        name, rest = node.segments[0], node.segments[1:]
        prop = etype.props.get(name)
        if prop is None:
            where = f"{etype.name}/{name}" if name in etype.navs else name
            raise StaQueryError(
                f"$filter: {etype.name} has no property {name!r} (character {node.pos})"
                if name not in etype.navs
                else f"$filter: {where} is a navigation property: compare one of its properties, e.g. {where}/name"
            )
        if not prop.filterable:
            raise StaQueryError(f"$filter: {etype.name}/{name} cannot be filtered on (it is computed per page)")
        if rest:
            if prop.kind != "json":
                raise StaQueryError(f"$filter: {etype.name}/{name} has no sub-properties ({'/'.join(node.segments)})")
            return f"({alias}.{prop.column} #> %s)", [list(rest)], "jsonpath"
        if prop.kind == "datetime":
            return f"{alias}.{prop.column}", [], "datetime"
        return f"{alias}.{prop.column}", [], prop.kind

    def call(self, node: Call, etype: EntityType, alias: str) -> Value:
        args = [self.value(arg, etype, alias) for arg in node.args]
        if node.name in SPATIAL or node.name in ("st_distance", "geo.distance"):
            for arg, sub in zip(args, node.args, strict=True):
                if arg[2] != "geometry":
                    raise StaQueryError(
                        f"$filter: {node.name} (character {node.pos}) needs geometries; {_describe(sub)} is {arg[2]}"
                    )
            params = [*args[0][1], *args[1][1]]
            if node.name in SPATIAL:
                return f"{SPATIAL[node.name]}({args[0][0]}, {args[1][0]})", params, "boolean"
            # metres on the spheroid, whatever the CRS (WGS 84 degrees would mean little)
            return f"ST_Distance(({args[0][0]})::geography, ({args[1][0]})::geography)", params, "number"
        for arg, sub in zip(args, node.args, strict=True):
            if arg[2] != "string":
                raise StaQueryError(
                    f"$filter: {node.name} (character {node.pos}) needs text; {_describe(sub)} is {arg[2]}"
                )
        params = [p for arg in args for p in arg[1]]
        sql = {
            "substringof": f"(strpos({args[-1][0]}, {args[0][0]}) > 0)",
            "startswith": f"starts_with({args[0][0]}, {args[-1][0]})",
            "endswith": f"(right({args[0][0]}, length({args[-1][0]})) = {args[-1][0]})",
            "tolower": f"lower({args[0][0]})",
            "toupper": f"upper({args[0][0]})",
            "length": f"length({args[0][0]})",
        }[node.name]
        if node.name == "endswith":
            params = [*args[0][1], *args[1][1], *args[1][1]]
        return sql, params, FUNCTIONS[node.name][1]


def pinned_by(node: Node | None, etype: EntityType) -> dict[str, Any]:
    """Column values a filter fixes in its top-level AND chain (`@iot.id eq 'x'`, `Datastream/@iot.id eq 'x'`),
    so that the relation can read through an index; the filter itself still applies."""
    if isinstance(node, Logical) and node.op == "and":
        return {**pinned_by(node.left, etype), **pinned_by(node.right, etype)}
    if not (isinstance(node, Compare) and node.op == "eq"):
        return {}
    path, literal = (node.left, node.right) if isinstance(node.left, Path) else (node.right, node.left)
    if not (isinstance(path, Path) and isinstance(literal, Literal) and literal.kind in ("string", "number")):
        return {}
    if path.segments in (("@iot.id",), ("id",)):
        return etype.key(str(literal.value))
    nav = etype.navs.get(path.segments[0])
    if nav is None or len(path.segments) != 2 or path.segments[1] not in ("@iot.id", "id"):
        return {}
    mine = {theirs: own for own, theirs in nav.pairs}
    key = TYPES[nav.target].key(str(literal.value))
    return {mine[c]: v for c, v in key.items()} if set(key) <= set(mine) else {}


def _leading_nav(node: Compare | Call, etype: EntityType) -> str | None:
    """The navigation property an atom's paths go through, if any (all of them must go through the same)."""
    paths = _paths(node)
    navs = {p.segments[0] for p in paths if p.segments[0] in etype.navs}
    if not navs:
        return None
    if len(navs) > 1 or any(p.segments[0] not in navs for p in paths):
        raise StaQueryError(
            f"$filter: one comparison may use one navigation path and literals; {_describe(node)} mixes "
            f"{', '.join('/'.join(p.segments) for p in paths)}"
        )
    name = navs.pop()
    if any(len(p.segments) == 1 for p in paths):
        raise StaQueryError(f"$filter: {etype.name}/{name} is a navigation property: name one of its properties")
    return name


def _paths(node: Node) -> list[Path]:
    if isinstance(node, Path):
        return [node]
    if isinstance(node, Compare):
        return [*_paths(node.left), *_paths(node.right)]
    if isinstance(node, Call):
        return [p for arg in node.args for p in _paths(arg)]
    return []


def _strip(node: Node, name: str) -> Any:
    if isinstance(node, Path):
        return Path(node.segments[1:], node.pos)
    if isinstance(node, Compare):
        return Compare(node.op, _strip(node.left, name), _strip(node.right, name), node.pos)
    if isinstance(node, Call):
        return Call(node.name, tuple(_strip(arg, name) for arg in node.args), node.pos)
    return node


def _key_sql(alias: str, key: dict[str, Any]) -> SqlParams:
    if not key:  # not an id of this entity type: nothing matches
        return "false", []
    return "(" + " AND ".join(f"{alias}.{column} = %s" for column in key) + ")", list(key.values())


def _coerce(value: Value, other: Value) -> Value:
    """A quoted ISO date and time compared with a datetime property is a datetime (as FROST accepts it)."""
    if value[2] == "string" and other[2] == "datetime" and value[0] == "%s::text":
        moment = iso_datetime(str(value[1][0]))
        if moment is not None:
            return "%s::timestamptz", [moment], "datetime"
    return value


def _json_compare(left: Value, right: Value, op: str, node: Compare) -> SqlParams:
    json_side, other = (left, right) if left[2] == "jsonpath" else (right, left)
    if other[2] == "jsonpath" or other[0] not in ("%s::numeric", "%s::text", "%s::boolean", "%s::timestamptz"):
        raise StaQueryError(f"$filter: compare a sub-property with a literal (character {node.pos})")
    sql = json_side[0]
    if other[2] == "number":
        expr = f"(CASE WHEN jsonb_typeof({sql}) = 'number' THEN ({sql})::numeric END)"
        params = [*json_side[1], *json_side[1]]
    elif other[2] == "boolean":
        expr = f"(CASE WHEN jsonb_typeof({sql}) = 'boolean' THEN ({sql})::boolean END)"
        params = [*json_side[1], *json_side[1]]
    else:
        expr, params = f"({sql} #>> '{{}}')", list(json_side[1])
        other = ("%s::text", [str(other[1][0]) if other[2] != "datetime" else other[1][0].isoformat()], "string")
    if json_side is left:
        return f"({expr} {op} {other[0]})", [*params, *other[1]]
    return f"({other[0]} {op} {expr})", [*other[1], *params]


def _wkt(text: str) -> str:
    if not WKT.match(text):
        raise StaQueryError(f"$filter: {text[:60]!r} is not a WKT geometry (e.g. POLYGON((24.9 60.1, ...)))")
    try:
        geometry = GEOSGeometry(text.split(";", 1)[-1] if text.upper().startswith("SRID=") else text)
    except (GEOSException, ValueError) as exc:
        raise StaQueryError(f"$filter: cannot read the geometry {text[:60]!r}: {exc}") from exc
    if not geometry.valid:
        raise StaQueryError(f"$filter: the geometry {text[:60]!r} is not valid: {geometry.valid_reason}")
    return geometry.wkt


def _describe(node: Node) -> str:
    if isinstance(node, Path):
        return "/".join(node.segments)
    if isinstance(node, Literal):
        return repr(node.value) if node.kind != "geometry" else "a geometry"
    if isinstance(node, Call):
        return f"{node.name}(...)"
    if isinstance(node, Compare):
        return f"a comparison ({node.op})"
    return "a logical expression"
