"""The public board's data: the privacy module's releases ONLY (apps.privacy.selectors.public_aggregates
on its fixed partitions, districts and H3, in hourly buckets, suppressed cells marked), never a selector
of raw telemetry. Imported lazily: the board stands (and says so) where the privacy module is missing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from django.utils import timezone

DATASETS = {"traffic": "Traffic", "air_quality": "Air quality", "energy": "Energy use"}
PARTITIONS = {"district": "Districts", "h3": "Hexagons (H3)"}
DAYS = 2
COLUMNS = ["cell", "name", "bucket", "value", "unit", "n_sources", "suppressed"]


@dataclass(frozen=True)
class Release:
    frame: pd.DataFrame  # COLUMNS
    geojson: dict[str, Any]
    k: int
    licence: str
    attribution: str
    measure: str
    epsilon: float | None


def window(now: datetime | None = None, days: int = DAYS) -> tuple[datetime, datetime]:
    end = (now or timezone.now()).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return end - timedelta(days=days), end


def release_frame(rows: list[Any]) -> pd.DataFrame:
    """PublicRow objects (or dicts of their fields) -> the board's frame; a suppressed cell has no value."""
    records = [r if isinstance(r, dict) else vars(r) if hasattr(r, "__dict__") else r._asdict() for r in rows]
    frame = pd.DataFrame(
        [
            {
                "cell": str(r["cell"]), "name": r.get("cell_name") or str(r["cell"]), "bucket": r["bucket"],
                "value": None if r.get("suppressed") else r.get("value"), "unit": r.get("unit", ""),
                "n_sources": r.get("n_sources"), "suppressed": bool(r.get("suppressed")),
            }
            for r in records
        ],
        columns=COLUMNS,
    )  # fmt: skip
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame


class Unavailable(Exception):
    """Nothing can be released: the privacy module is missing or refused the query (the message says why)."""


def public_release(dataset: str, partition: str, start: datetime, end: datetime) -> Release:
    """The privacy module's release of a dataset on a partition."""
    from apps.core.exceptions import DomainError

    try:
        from apps.privacy.selectors import partition_cells, public_aggregates
    except ImportError as exc:
        raise Unavailable("The privacy module is not installed: nothing can be published.") from exc
    try:
        release = public_aggregates(dataset=dataset, partition=partition, start=start, end=end)
    except DomainError as exc:
        raise Unavailable(f"Not published: {exc.message}") from exc
    return Release(
        frame=release_frame(list(release.rows)),
        geojson=json.loads(partition_cells(partition)),
        k=int(release.k),
        licence=str(release.licence),
        attribution=str(release.attribution),
        measure=str(release.measure or dataset),
        epsilon=release.epsilon,
    )
