"""The query options of a request ($top, $skip, $count, $orderby, $select, $expand with nested options,
$filter), parsed and checked against the entity type they apply to, so that a wrong name is a 400 that
says which name, where, and what would be allowed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .entities import TYPES, EntityType
from .errors import StaQueryError
from .filter_parser import Node, parse_filter

DEFAULT_TOP = 100
MAX_TOP = 10_000
KNOWN = ("$top", "$skip", "$count", "$orderby", "$select", "$expand", "$filter", "$resultFormat")


@dataclass
class Options:
    top: int = DEFAULT_TOP
    skip: int = 0
    count: bool = False
    orderby: list[tuple[str, bool]] = field(default_factory=list)  # (property, descending)
    select: list[str] | None = None
    filter: Node | None = None
    expand: dict[str, Options] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)  # as given: a nested next link carries them on


def _split(text: str, sep: str, what: str) -> list[str]:
    """Split at `sep` outside parentheses and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth < 0:
                raise StaQueryError(f"{what}: unbalanced ')' at character {i + 1}")
        elif not quoted and depth == 0 and char == sep:
            parts.append(text[start:i])
            start = i + 1
    if depth or quoted:
        raise StaQueryError(f"{what}: unbalanced parentheses or quotes in {text!r}")
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _int(name: str, text: str, *, maximum: int | None = None) -> int:
    if not re.fullmatch(r"\d{1,9}", text.strip()):
        raise StaQueryError(f"{name} must be a non-negative integer, got {text!r}")
    value = int(text)
    if maximum is not None and value > maximum:
        raise StaQueryError(f"{name} may be at most {maximum}, got {value}")
    return value


def _names(etype: EntityType) -> str:
    return ", ".join([*etype.props, *etype.navs])


def parse_options(params: Mapping[str, str], etype: EntityType, *, where: str = "") -> Options:
    options = Options(raw=dict(params))
    for key, value in params.items():
        name = f"{where}{key}"
        if key not in KNOWN:
            raise StaQueryError(f"unknown query option {name!r}; supported: {', '.join(KNOWN[:-1])}")
        if key == "$top":
            options.top = _int(name, value, maximum=MAX_TOP)
        elif key == "$skip":
            options.skip = _int(name, value)
        elif key == "$count":
            if value not in ("true", "false"):
                raise StaQueryError(f"{name} must be true or false, got {value!r}")
            options.count = value == "true"
        elif key == "$orderby":
            options.orderby = [_order_key(part, etype, name) for part in _split(value, ",", name)]
        elif key == "$select":
            options.select = [_select_key(part, etype, name) for part in _split(value, ",", name)]
        elif key == "$filter":
            options.filter = parse_filter(value)
        elif key == "$expand":
            for part in _split(value, ",", name):
                _expand_into(options.expand, part, etype, name)
        elif key == "$resultFormat" and value != "default":
            raise StaQueryError(f"{name}: only the default result format is supported (no dataArray)")
    return options


def _order_key(part: str, etype: EntityType, name: str) -> tuple[str, bool]:
    words = part.split()
    if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
        raise StaQueryError(f"{name}: expected 'property [asc|desc]', got {part!r}")
    prop = etype.props.get(words[0])
    if prop is None:
        raise StaQueryError(f"{name}: {etype.name} has no property {words[0]!r} to order by")
    if not prop.filterable or prop.kind in ("json", "geometry"):
        raise StaQueryError(f"{name}: {etype.name}/{words[0]} cannot be used to order")
    return words[0], len(words) == 2 and words[1].lower() == "desc"


def _select_key(part: str, etype: EntityType, name: str) -> str:
    if part not in etype.props and part not in etype.navs:
        raise StaQueryError(f"{name}: {etype.name} has no property {part!r}; it has {_names(etype)}")
    return part


def _expand_into(expand: dict[str, Options], part: str, etype: EntityType, name: str) -> None:
    found = re.fullmatch(r"([A-Za-z/]+)\s*(?:\((.*)\))?", part, re.DOTALL)
    if not found:
        raise StaQueryError(f"{name}: cannot read {part!r}; expected e.g. Datastreams($top=2;$select=name)")
    segments = found[1].split("/")
    current, target = expand, etype
    for i, segment in enumerate(segments):
        nav = target.navs.get(segment)
        if nav is None:
            raise StaQueryError(
                f"{name}: {target.name} has no navigation property {segment!r}; it has {', '.join(target.navs)}"
            )
        child = TYPES[nav.target]
        last = i == len(segments) - 1
        if segment not in current:
            nested = found[2] if last and found[2] is not None else ""
            current[segment] = _nested_options(nested, child, f"{name}({segment})")
        elif last and found[2]:
            raise StaQueryError(f"{name}: {segment} is expanded twice with options")
        current, target = current[segment].expand, child


def _nested_options(text: str, etype: EntityType, where: str) -> Options:
    params: dict[str, str] = {}
    for item in _split(text, ";", where) if text.strip() else []:
        key, sep, value = item.partition("=")
        if not sep:
            raise StaQueryError(f"{where}: expected $option=value, got {item!r}")
        params[key.strip()] = value.strip()
    return parse_options(params, etype, where=f"{where}/")
