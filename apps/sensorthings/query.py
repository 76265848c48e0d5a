"""Reads of the SensorThings entity sets: one SQL statement per page, one per expanded navigation property
(a LATERAL join over the page's parents, so $top inside $expand is per parent), one for @iot.count. Every
statement runs over the role-filtered relations of entities.py; every value reaches SQL as a parameter."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from .compiler import Compiler, pinned_by
from .entities import TYPES, Ctx, EntityType, Nav, Pins, SqlParams
from .options import Options


@dataclass
class Page:
    rows: list[dict[str, Any]]
    count: int | None = None
    more: bool = False


@dataclass
class Children:
    """What $expand found for one navigation property, per parent row (by index)."""

    rows: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)
    more: dict[int, bool] = field(default_factory=dict)


def columns(etype: EntityType, alias: str) -> str:
    """The relation's columns a response needs, geometries as GeoJSON text."""
    names = {p.column: p.kind for p in etype.props.values() if p.column}
    out = []
    for column, kind in {**names, **dict.fromkeys(etype.hidden, "")}.items():
        if kind == "geometry":
            out.append(f"ST_AsGeoJSON({alias}.{column}, 7) AS {column}")
        else:
            out.append(f"{alias}.{column}")
    return ", ".join(out)


def _order(etype: EntityType, options: Options, alias: str, fixed: set[str] | frozenset[str] = frozenset()) -> str:
    keys = options.orderby or list(etype.default_order)
    parts = [f"{alias}.{etype.props[name].column} {'DESC' if desc else 'ASC'}" for name, desc in keys]
    last_desc = keys[-1][1] if keys else False
    used = {etype.props[name].column for name, _ in keys} | set(fixed)
    # A total order, so that $skip pages neither repeat nor lose a row.
    parts += [f"{alias}.{c} {'DESC' if last_desc else 'ASC'}" for c in etype.tiebreak if c not in used]
    return ", ".join(parts) or f"{alias}.{etype.tiebreak[0]}"  # every key fixed: one row, any order


def _where(
    compiler: Compiler, etype: EntityType, options: Options, alias: str, conditions: list[SqlParams]
) -> SqlParams:
    parts = [c for c in conditions]
    if options.filter is not None:
        parts.append(compiler.condition(options.filter, etype, alias))
    if not parts:
        return "true", []
    return " AND ".join(f"({sql})" for sql, _ in parts), [p for _, params in parts for p in params]


def _fetch(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def page(etype: EntityType, ctx: Ctx, options: Options, fixed: dict[str, Any] | None) -> Page:
    """A page of an entity set whose columns have the `fixed` values (None: an id that cannot exist), with
    its expansions filled in."""
    if fixed is None:
        return Page([], count=0 if options.count else None)
    compiler = Compiler(ctx)
    pins: Pins = {column: ("%s", [value]) for column, value in {**pinned_by(options.filter, etype), **fixed}.items()}
    relation, rparams = etype.relation(ctx, pins)
    conditions = [(f"t.{column} = %s", [value]) for column, value in fixed.items()]
    where, wparams = _where(compiler, etype, options, "t", conditions)
    sql = (
        f"SELECT {columns(etype, 't')} FROM ({relation}) t WHERE {where} "
        f"ORDER BY {_order(etype, options, 't', set(pins))} LIMIT %s OFFSET %s"
    )
    rows = _fetch(sql, [*rparams, *wparams, options.top + 1, options.skip])
    result = Page(rows[: options.top], more=len(rows) > options.top > 0)  # $top=0: counts only, no next link
    if options.count:
        found = _fetch(f"SELECT count(*) AS n FROM ({relation}) t WHERE {where}", [*rparams, *wparams])
        result.count = int(found[0]["n"])
    complete(etype, ctx, options, result.rows)
    return result


def one(
    etype: EntityType, ctx: Ctx, fixed: dict[str, Any] | None, options: Options | None = None
) -> dict[str, Any] | None:
    options = options or Options()
    found = page(etype, ctx, Options(top=1, select=options.select, expand=options.expand), fixed)
    return found.rows[0] if found.rows else None


def complete(etype: EntityType, ctx: Ctx, options: Options, rows: list[dict[str, Any]]) -> None:
    """Decode JSON columns, add the per-page computed values, and expand the navigation properties."""
    for row in rows:
        for prop in etype.props.values():
            if prop.kind in ("json", "geometry") and isinstance(row.get(prop.column), str):
                row[prop.column] = json.loads(row[prop.column])
    if etype.name == "Datastream" and rows:
        _datastream_times(rows)
    for name, nested in options.expand.items():
        nav = etype.navs[name]
        children = expand(nav, ctx, nested, rows)
        for i, row in enumerate(rows):
            row[f"@{name}"] = children.rows.get(i, [])
            row[f"@{name}@count"] = children.counts.get(i)
            row[f"@{name}@more"] = children.more.get(i, False)


def expand(nav: Nav, ctx: Ctx, options: Options, parents: list[dict[str, Any]]) -> Children:
    if nav.target == "Observation" and "hourly" in dict(nav.pairs):
        # Readings and rollups apart: each query then reads one table in time order (entities.py).
        found = Children()
        for hourly in (False, True):
            index = [i for i, row in enumerate(parents) if row["hourly"] is hourly]
            part = _expand(nav, ctx, options, [parents[i] for i in index])
            found.rows.update({index[i]: rows for i, rows in part.rows.items()})
            found.counts.update({index[i]: n for i, n in part.counts.items()})
            found.more.update({index[i]: more for i, more in part.more.items()})
        return found
    return _expand(nav, ctx, options, parents)


def _expand(nav: Nav, ctx: Ctx, options: Options, parents: list[dict[str, Any]]) -> Children:
    target = TYPES[nav.target]
    found = Children()
    if not parents:
        return found
    compiler = Compiler(ctx)
    keys = [f"k{j}" for j in range(len(nav.pairs))]
    # A column every parent has the same value of is pinned to that value (a constant lets a relation pick
    # its table); the others to the parent's column.
    pins: Pins = {
        theirs: ("%s", [parents[0][mine]]) if len({row[mine] for row in parents}) == 1 else (f"p.{k}", [])
        for (mine, theirs), k in zip(nav.pairs, keys, strict=True)
    }
    relation, rparams = target.relation(ctx, pins)
    values = ", ".join("(" + ", ".join(["%s"] * (len(keys) + 1)) + ")" for _ in parents)
    vparams = [v for i, row in enumerate(parents) for v in (i, *(row[mine] for mine, _ in nav.pairs))]
    joins: list[SqlParams] = [(f"t.{theirs} = p.{k}", []) for (_, theirs), k in zip(nav.pairs, keys, strict=True)]
    where, wparams = _where(compiler, target, options, "t", joins)
    top = options.top if nav.many else 1
    inner = (
        f"SELECT {columns(target, 't')} FROM ({relation}) t WHERE {where} "
        f"ORDER BY {_order(target, options, 't', {theirs for _, theirs in nav.pairs})} LIMIT %s OFFSET %s"
    )
    head = f"FROM (VALUES {values}) AS p(i, {', '.join(keys)})"
    rows = _fetch(
        f"SELECT p.i AS parent__i, x.* {head} CROSS JOIN LATERAL ({inner}) x ORDER BY p.i",
        [*vparams, *rparams, *wparams, top + 1, options.skip if nav.many else 0],
    )
    for row in rows:
        found.rows.setdefault(row.pop("parent__i"), []).append(row)
    for i, children in list(found.rows.items()):
        found.more[i] = len(children) > top > 0
        found.rows[i] = children[:top]
    if nav.many and options.count:
        counted = _fetch(
            f"SELECT p.i, (SELECT count(*) FROM ({relation}) t WHERE {where}) AS n {head}",
            [*rparams, *wparams, *vparams],
        )
        found.counts = {int(r["i"]): int(r["n"]) for r in counted}
    everything = [row for children in found.rows.values() for row in children]
    complete(target, ctx, options, everything)
    return found


def _datastream_times(rows: list[dict[str, Any]]) -> None:
    """phenomenonTime of each Datastream on a page: its first and last reading (or hourly bucket), read
    through the (sensor, time) indexes, two index probes per Datastream."""
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    params = [v for i, r in enumerate(rows) for v in (i, r["sensor_id"], r["property"], r["hourly"])]
    first = (
        "SELECT r.time FROM telemetry_reading r WHERE r.sensor_id = v.s AND r.values ? v.p ORDER BY r.time {0} LIMIT 1"
    )
    bucket = (
        "SELECT u.bucket FROM telemetry_rollup u WHERE u.sensor_id = v.s AND u.resolution = '1h' "
        "AND u.property = v.p ORDER BY u.bucket {0} LIMIT 1"
    )
    sql = f"""SELECT v.i,
        CASE WHEN v.h THEN ({bucket.format("ASC")}) ELSE ({first.format("ASC")}) END AS start,
        CASE WHEN v.h THEN ({bucket.format("DESC")}) + interval '1 hour' ELSE ({first.format("DESC")}) END AS stop
        FROM (VALUES {values}) AS v(i, s, p, h)"""
    for found in _fetch(sql, params):
        rows[found["i"]]["@times"] = (found["start"], found["stop"])
