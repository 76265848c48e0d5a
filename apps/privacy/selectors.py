"""Public aggregates of sensor data: the one way sensor data reaches the public (the API, the portal and the
public dashboard call these). Fixed partitions (districts, one H3 resolution), buckets of exactly one hour,
the hourly rollups of apps.telemetry; personal data (energy meters) under a k-threshold with complementary
suppression across both partitions (suppression.py), optionally with Laplace noise (dp.py).

Every cell-hour is computed from that hour's data alone, the same whatever window asked for it, so longer
and shorter windows only repeat the same rows (no window-differencing). docs/privacy.md has the model."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from apps.sensors.models import SensorKind
from apps.telemetry.catalog import properties_of

from . import conf
from .dp import clamp_bound, noisy_release
from .exceptions import PublicQueryError
from .partitions import PARTITIONS, check_partition, district_names, placed_sensors
from .partitions import partition_cells as partition_cells
from .suppression import suppressed_cells

DATASETS = ("energy", "traffic", "air_quality")
# Which datasets are personal data (k-threshold and complementary suppression).
PERSONAL = frozenset({"energy"})


@dataclass(frozen=True)
class Measure:
    prop: str
    combine: str  # "sum" over sources, or "mean" of the sources' hourly means
    unit: str


# The first measure of each dataset is its default.
MEASURES: dict[str, dict[str, Measure]] = {
    "energy": {
        "energy_kwh": Measure("energy_kwh", "sum", "kWh"),
        "active_power_kw": Measure("active_power_kw", "sum", "kW"),
    },
    "traffic": {
        "vehicle_count": Measure("vehicle_count", "sum", "veh/h"),
        "mean_speed_kmh": Measure("mean_speed_kmh", "mean", "km/h"),
    },
    "air_quality": {
        "no2": Measure("no2", "mean", "µg/m³"),
        "pm2_5": Measure("pm2_5", "mean", "µg/m³"),
        "pm10": Measure("pm10", "mean", "µg/m³"),
    },
}
KIND = {"energy": SensorKind.ENERGY, "traffic": SensorKind.TRAFFIC, "air_quality": SensorKind.AIR_QUALITY}
HOUR = timedelta(hours=1)

__all__ = [
    "DATASETS",
    "MEASURES",
    "PARTITIONS",
    "PublicRelease",
    "PublicRow",
    "partition_cells",
    "public_aggregates",
    "public_window",
]


@dataclass(frozen=True)
class PublicRow:
    cell: str  # district id as text, or the H3 cell index
    cell_name: str  # district name, or the H3 index
    bucket: datetime  # start of the hour (UTC, aware)
    value: float | None  # None when suppressed
    unit: str
    n_sources: int | None  # None when suppressed; never below k when present
    suppressed: bool


@dataclass(frozen=True)
class PublicRelease:
    dataset: str
    partition: str
    measure: str
    k: int
    rows: list[PublicRow]
    licence: str
    attribution: str
    epsilon: float | None  # epsilon spent on this release (DP), else None


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def public_window(start: datetime, end: datetime, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The window snapped to whole hours (start down, end up), checked, then cut to the hours that have
    settled (conf.settle_after): the window actually published."""
    if start.tzinfo is None or end.tzinfo is None:
        raise PublicQueryError("start and end need a time zone, e.g. 2026-11-23T08:00:00Z")
    start = _floor_hour(start)
    end = _floor_hour(end) + (HOUR if end != _floor_hour(end) else timedelta(0))
    if end <= start:
        raise PublicQueryError("end must be after start")
    if end - start > conf.max_window():
        raise PublicQueryError(f"the window is at most {conf.max_window().days} days")
    settled = _floor_hour((now or timezone.now()) - conf.settle_after())
    return start, max(start, min(end, settled))


def _atoms(
    dataset: str, measure: Measure, start: datetime, end: datetime, clamp: float | None
) -> dict[datetime, list[tuple[str, str, int, float]]]:
    """Per hour: (district, h3 cell, number of sources, sum of the sources' hourly values) for each atom
    (the sources sharing both cells). A source's hourly value: its hourly total for a property that adds up,
    its hourly mean otherwise; clamped to [0, clamp] for DP."""
    placed = placed_sensors(KIND[dataset])
    if not placed or end <= start:
        return {}
    adds_up = properties_of(KIND[dataset])[measure.prop].aggregate == "sum"
    value = "r.total" if adds_up else "r.total / r.n"
    if clamp is not None:
        value = f"least(greatest({value}, 0), {float(clamp)!r})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH m(sensor_id, district, cell) AS (SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[]))
                SELECT r.bucket, m.district, m.cell, count(*), sum(({value})::numeric)
                FROM telemetry_rollup r JOIN m ON m.sensor_id = r.sensor_id
                WHERE r.resolution = '1h' AND r.property = %s AND r.bucket >= %s AND r.bucket < %s AND r.n > 0
                GROUP BY 1, 2, 3""",
            [
                [p.sensor_id for p in placed],
                [p.district for p in placed],
                [p.h3 for p in placed],
                measure.prop,
                start,
                end,
            ],
        )
        rows = cursor.fetchall()
    by_hour: dict[datetime, list[tuple[str, str, int, float]]] = defaultdict(list)
    for bucket, district, cell, n, total in rows:
        by_hour[bucket.astimezone(UTC)].append((district, cell, int(n), float(total)))
    return by_hour


def _rows(dataset: str, partition: str, measure: Measure, start: datetime, end: datetime, dp: bool) -> list[PublicRow]:
    k = conf.k_threshold()
    by_hour = _atoms(dataset, measure, start, end, clamp_bound(measure.prop) if dp else None)
    names = district_names() if partition == "district" else {}
    rows: list[PublicRow] = []
    for bucket in sorted(by_hour):
        atoms = sorted(by_hour[bucket])
        hidden = suppressed_cells(((d, c, n) for d, c, n, _ in atoms), k) if dataset in PERSONAL else frozenset()
        counts: dict[str, int] = defaultdict(int)
        sums: dict[str, float] = defaultdict(float)
        for district, cell, n_atom, total_atom in atoms:
            key = district if partition == "district" else cell
            counts[key] += n_atom
            sums[key] += total_atom
        for key in sorted(counts):
            n, total = counts[key], sums[key]
            name = names.get(key, key)
            if (partition, key) in hidden:
                rows.append(PublicRow(key, name, bucket, None, measure.unit, None, True))
            else:
                # Exact (numeric) atom sums, added in a fixed order, rounded: the same cell-hour must
                # read the same in every window.
                value = round(total if measure.combine == "sum" else total / n, 3)
                rows.append(PublicRow(key, name, bucket, value, measure.unit, int(n), False))
    return rows


def public_aggregates(
    *,
    dataset: str,
    partition: str,
    start: datetime,
    end: datetime,
    measure: str | None = None,
    dp: bool = False,
) -> PublicRelease:
    """Hourly aggregates of a dataset per cell of a partition over [start, end) (snapped to hours, cut to
    the settled hours). Cached for conf.cache_seconds() under the snapped query. With dp, the values and
    counts carry Laplace noise and the release's epsilon is charged to the dataset's budget (refused with
    PrivacyBudgetExhausted when it would run over)."""
    if dataset not in DATASETS:
        raise PublicQueryError(f"unknown dataset {dataset[:40]!r}: one of {', '.join(DATASETS)}")
    check_partition(partition)
    measure = measure or next(iter(MEASURES[dataset]))
    if measure not in MEASURES[dataset]:
        raise PublicQueryError(f"unknown measure {measure[:40]!r} of {dataset}: one of {', '.join(MEASURES[dataset])}")
    spec = MEASURES[dataset][measure]
    if dp and spec.combine != "sum":
        raise PublicQueryError(f"differential privacy is offered for sums only, not for {measure}")
    start, end = public_window(start, end)
    k = conf.k_threshold() if dataset in PERSONAL else 1
    key = (
        f"privacy:release:{dataset}:{partition}:{measure}:{start:%Y%m%d%H}:{end:%Y%m%d%H}:{int(dp)}:{k}:"
        f"{conf.h3_resolution()}"
    )
    cached = cache.get(key)
    if isinstance(cached, PublicRelease):
        return cached
    rows = _rows(dataset, partition, spec, start, end, dp)
    epsilon: float | None = None
    if dp:
        hours = int((end - start) / HOUR)
        query = f"{dataset} {measure} by {partition}, {start:%Y-%m-%dT%H}Z to {end:%Y-%m-%dT%H}Z"
        rows, epsilon = noisy_release(dataset=dataset, measure=measure, rows=rows, hours=hours, k=k, query=query)
    release = PublicRelease(
        dataset=dataset,
        partition=partition,
        measure=measure,
        k=k,
        rows=rows,
        licence=conf.licence(),
        attribution=conf.attribution(),
        epsilon=epsilon,
    )
    cache.set(key, release, timeout=conf.cache_seconds())
    return release
