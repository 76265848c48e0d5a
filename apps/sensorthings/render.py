"""SensorThings JSON: an entity with @iot.id, @iot.selfLink, its properties (or those $select names) and a
navigation link per navigation property; expanded entities inline, with their own count and next link."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from .entities import TYPES, EntityType
from .options import Options


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def entity_path(etype: EntityType, ident: Any) -> str:
    if isinstance(ident, int):
        return f"{etype.plural}({ident})"
    escaped = quote(str(ident).replace("'", "''"), safe=":'")
    return f"{etype.plural}('{escaped}')"


def _value(etype: EntityType, name: str, row: dict[str, Any]) -> Any:
    if etype.name == "Observation" and name == "phenomenonTime":
        start, end = row["phenomenon_time"], row.get("phenomenon_end")
        return f"{iso(start)}/{iso(end)}" if end else iso(start)
    if etype.name == "Datastream" and name == "resultTime":
        return None  # results are made when they are observed: phenomenonTime says it all
    if etype.name == "Datastream" and name == "phenomenonTime":
        start, end = row.get("@times", (None, None))
        return f"{iso(start)}/{iso(end)}" if start and end else None
    value = row.get(etype.props[name].column)
    return iso(value) if isinstance(value, datetime) else value


def entity(etype: EntityType, row: dict[str, Any], base: str, options: Options) -> dict[str, Any]:
    selected = options.select
    self_link = base + entity_path(etype, row["id"])
    out: dict[str, Any] = {}
    if selected is None or "@iot.id" in selected or "id" in selected:
        out["@iot.id"] = row["id"]
    if selected is None or "@iot.id" in selected or "id" in selected:
        out["@iot.selfLink"] = self_link
    for name in etype.props:
        if name in ("@iot.id", "id") or (selected is not None and name not in selected):
            continue
        out[name] = _value(etype, name, row)
    for name in etype.navs:
        if name in options.expand:
            target = TYPES[etype.navs[name].target]
            nested = options.expand[name]
            children = [entity(target, child, base, nested) for child in row.get(f"@{name}", [])]
            if etype.navs[name].many:
                if row.get(f"@{name}@count") is not None:
                    out[f"{name}@iot.count"] = row[f"@{name}@count"]
                out[name] = children
                if row.get(f"@{name}@more"):
                    out[f"{name}@iot.nextLink"] = _nested_next(self_link, name, nested)
            else:
                out[name] = children[0] if children else None
        elif selected is None or name in selected:
            out[f"{name}@iot.navigationLink"] = f"{self_link}/{name}"
    return out


def _nested_next(self_link: str, name: str, options: Options) -> str:
    """The rest of an expanded collection: its navigation link with the same options and the next $skip."""
    query = {**options.raw, "$top": str(options.top), "$skip": str(options.skip + options.top)}
    return f"{self_link}/{name}?{urlencode(query)}"


def collection(
    etype: EntityType,
    rows: list[dict[str, Any]],
    base: str,
    options: Options,
    *,
    count: int | None,
    next_link: str | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if count is not None:
        out["@iot.count"] = count
    if next_link is not None:
        out["@iot.nextLink"] = next_link
    out["value"] = [entity(etype, row, base, options) for row in rows]
    return out
