"""What the public portal reads: open sensors with their latest values, district conditions (through the
privacy module only), published scenario comparisons. Every reader here returns what anyone may see."""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from django.db import connection
from django.utils import timezone

from apps.core.data_version import data_version
from apps.sensors.models import PUBLIC_SENSOR_KINDS, SensorKind
from apps.simulation.selectors import difference_geojson, published_comparison_view, published_comparisons
from apps.telemetry.catalog import CATALOG, HEADLINE
from apps.telemetry.conf import stale_after_s

from . import conf
from .cache import cached_text

log = logging.getLogger(__name__)

# The datasets of the privacy module the front page shows, in order.
CONDITION_DATASETS = {"traffic": "Traffic", "air_quality": "Air quality", "energy": "Energy use"}

_SENSORS_SQL = """
SELECT coalesce(json_agg(json_build_object(
    'type', 'Feature', 'id', s.code,
    'geometry', ST_AsGeoJSON(s.geom, 6)::json,
    'properties', json_build_object(
        'code', s.code, 'name', s.name, 'kind', s.kind, 'time', l.time,
        'stale', l.time IS NULL OR l.time < now() - make_interval(secs => %(stale)s),
        'values', coalesce(l.values, '{}'::jsonb))
) ORDER BY s.code), '[]'::json)::text
FROM sensors_sensor s
LEFT JOIN LATERAL (
    SELECT max(t.time) AS time, jsonb_object_agg(t.property, t.value) AS values
    FROM telemetry_latest t WHERE t.sensor_id = s.id
) l ON true
WHERE s.active AND s.kind = ANY(%(kinds)s)
"""


def public_kinds() -> list[str]:
    # Energy meters measure a household: never public per meter, whatever PUBLIC_SENSOR_KINDS becomes.
    return sorted(str(k) for k in PUBLIC_SENSOR_KINDS if k != SensorKind.ENERGY)


def sensor_catalog() -> dict[str, Any]:
    """Per public kind: its headline property, and each property's label and unit."""
    return {
        kind: {
            "label": SensorKind(kind).label,
            "headline": HEADLINE.get(SensorKind(kind)),
            "properties": {p.name: {"label": p.label, "unit": p.unit} for p in CATALOG[SensorKind(kind)].values()},
        }
        for kind in public_kinds()
    }


def public_sensors_geojson() -> str:
    """The open sensors (traffic, air quality) with their latest values, as a GeoJSON FeatureCollection built
    in PostGIS; cached for conf.sensors_max_age_s()."""

    def build() -> str:
        with connection.cursor() as cursor:
            cursor.execute(_SENSORS_SQL, {"kinds": public_kinds(), "stale": stale_after_s()})
            features = cursor.fetchone()[0]
        head = json.dumps({"generated_at": timezone.now().isoformat(), "catalog": sensor_catalog()})
        return '{"type":"FeatureCollection",' + head[1:-1] + ',"features":' + features + "}"

    return cached_text("citytwin:portal:sensors", conf.sensors_max_age_s(), build)


# --- district conditions, through the privacy module --------------------------------------------------
def privacy_module() -> ModuleType | None:
    """apps.privacy.selectors when the privacy module is installed; None before it is."""
    try:
        return importlib.import_module("apps.privacy.selectors")
    except ModuleNotFoundError as exc:
        if exc.name in ("apps.privacy", "apps.privacy.selectors"):
            return None
        raise  # the module is there but one of ITS imports is missing: a real error


@dataclass
class DatasetConditions:
    dataset: str
    label: str
    unit: str
    k: int | None
    licence: str
    attribution: str
    bucket: str | None
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)  # cell -> name, value, suppressed


def _window(now: datetime | None) -> tuple[datetime, datetime]:
    end = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    return end - timedelta(hours=conf.conditions_hours()), end


def _dataset_conditions(module: ModuleType, dataset: str, start: datetime, end: datetime) -> DatasetConditions:
    release = module.public_aggregates(dataset=dataset, partition="district", start=start, end=end)
    latest: dict[str, Any] = {}
    for row in release.rows:  # the latest bucket of each cell
        if row.cell not in latest or row.bucket > latest[row.cell].bucket:
            latest[row.cell] = row
    unit = next((row.unit for row in release.rows if row.unit), "")
    buckets = [row.bucket for row in latest.values()]
    return DatasetConditions(
        dataset=dataset,
        label=CONDITION_DATASETS[dataset],
        unit=unit,
        k=release.k,
        licence=release.licence,
        attribution=release.attribution,
        bucket=max(buckets).isoformat() if buckets else None,
        cells={
            str(cell): {
                "name": row.cell_name,
                "value": None if row.suppressed or row.value is None else round(float(row.value), 1),
                "suppressed": bool(row.suppressed),
            }
            for cell, row in sorted(latest.items(), key=lambda kv: str(kv[1].cell_name))
        },
    )


def district_conditions(now: datetime | None = None) -> list[DatasetConditions] | None:
    """The last hours' conditions per district for each dataset, from the privacy module's public
    aggregates only; None when the privacy module is not installed. A dataset the module fails on is left
    out (logged), so one bad dataset does not take the front page down."""
    module = privacy_module()
    if module is None:
        return None
    start, end = _window(now)
    out = []
    for dataset in CONDITION_DATASETS:
        try:
            out.append(_dataset_conditions(module, dataset, start, end))
        except Exception:  # noqa: BLE001 - the module's refusal or failure hides that dataset only
            log.exception("portal: no public aggregates of %s", dataset)
    return out


def conditions_geojson(dataset: str) -> str | None:
    """The districts (the privacy module's partition cells) with the dataset's latest public figure: a
    choropleth layer. None when the privacy module is not installed."""
    module = privacy_module()
    if module is None:
        return None
    start, end = _window(None)

    def build() -> str:
        conditions = _dataset_conditions(module, dataset, start, end)
        cells = json.loads(module.partition_cells("district"))
        for feature in cells.get("features", []):
            props = feature.setdefault("properties", {})
            cell = str(feature.get("id", props.get("cell", props.get("code", ""))))
            found = conditions.cells.get(cell, {"value": None, "suppressed": True})
            props.update({"cell": cell, "value": found["value"], "suppressed": found["suppressed"]})
        cells.update(
            dataset=dataset, unit=conditions.unit, bucket=conditions.bucket, k=conditions.k,
            licence=conditions.licence, attribution=conditions.attribution,
        )  # fmt: skip
        return json.dumps(cells, separators=(",", ":"))

    key = f"citytwin:portal:conditions:{dataset}:{end:%Y%m%d%H}"
    return cached_text(key, conf.page_max_age_s(), build)


# --- published comparisons ------------------------------------------------------------------------------
def published_list(limit: int = 12) -> list[dict[str, Any]]:
    return [
        {"id": c.pk, "title": c.title, "summary": c.summary, "published_at": c.published_at}
        for c in published_comparisons()[:limit]
    ]


def published_key(what: str) -> str:
    """Cache keys of published comparisons change whenever one is published or withdrawn (the newest
    publication and the count are in the key)."""
    newest = published_comparisons().order_by("-published_at").values_list("published_at", flat=True).first()
    stamp = f"{newest.timestamp():.0f}" if newest else "0"
    return f"citytwin:portal:published:{what}:{stamp}:{published_comparisons().count()}"


def published_comparisons_views(limit: int = 50) -> list[dict[str, Any]]:
    return [published_comparison_view(c) for c in published_comparisons()[:limit]]


def published_comparison(pk: int) -> Any:
    """A published comparison, or None (never a comparison that is not published)."""
    return published_comparisons().filter(pk=pk).first()


def published_view(comparison: Any) -> dict[str, Any]:
    return published_comparison_view(comparison)


def comparison_difference_geojson(comparison: Any) -> str:
    """Per-segment differences of a published comparison (flows and speeds of both runs; no grid). Finished
    runs never change: cached under the comparison, its publication and the city's data version."""
    key = f"citytwin:portal:diff:{comparison.pk}:{comparison.published_at.timestamp():.0f}:{data_version()}"
    return cached_text(
        key, 24 * 3600, lambda: difference_geojson(comparison.run, comparison.against, interval=None, bbox=None)
    )
