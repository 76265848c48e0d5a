"""The city-by-district board's data: hourly rollups per district of the sensors the user may see (staff
see the energy meters one by one already, so their district sums need no suppression: the public board
goes through the privacy module instead), and the districts' outlines. Calls selectors only."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from django.utils import timezone

from apps.districts.selectors import districts_geojson
from apps.telemetry.selectors import district_hourly

# The board's measures: key -> (rollup property, label, unit of an hourly value).
MEASURES: dict[str, tuple[str, str, str]] = {
    "traffic": ("vehicle_count", "Traffic: vehicles counted", "vehicles/h"),
    "speed": ("mean_speed_kmh", "Traffic: mean speed", "km/h"),
    "pm2_5": ("pm2_5", "Air quality: PM2.5", "µg/m³"),
    "no2": ("no2", "Air quality: NO₂", "µg/m³"),
    "energy": ("energy_kwh", "Energy use (meters)", "kWh/h"),
}
DAYS = 3


def window(now: datetime | None = None, days: int = DAYS) -> tuple[datetime, datetime]:
    """The last `days` whole hours up to the current hour (included), in UTC."""
    end = (now or timezone.now()).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return end - timedelta(days=days), end


def hours_of(start: datetime, end: datetime) -> list[datetime]:
    count = int((end - start).total_seconds() // 3600)
    return [start + timedelta(hours=h) for h in range(count)]


def district_frame(user: Any, start: datetime, end: datetime) -> pd.DataFrame:
    """measure, cell (district id as text), name, bucket (UTC), value, sensors, suppressed (always False)."""
    by_property = {prop: key for key, (prop, _, _) in MEASURES.items()}
    rows = district_hourly(user=user, properties=list(by_property), start=start, end=end)
    frame = pd.DataFrame(rows, columns=["district", "name", "bucket", "property", "value", "sensors"])
    frame["measure"] = frame["property"].map(by_property)
    frame["cell"] = frame["district"].astype(str)
    frame["suppressed"] = False
    return frame[["measure", "cell", "name", "bucket", "value", "sensors", "suppressed"]]


def outlines() -> dict[str, Any]:
    return json.loads(districts_geojson())  # type: ignore[no-any-return]
