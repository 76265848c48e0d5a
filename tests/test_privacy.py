"""The privacy module against the demo city: every demo meter on its building, hours of demo history
written through the real history path and rollups, and the public outputs of both partitions over several
windows. An attacker holds all of them; the corpus below computes what they could and checks that nothing
about a group of fewer than k meters comes out."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.privacy import conf
from apps.privacy.models import PrivacyLedgerEntry
from apps.privacy.partitions import placed_sensors
from apps.privacy.selectors import DATASETS, PARTITIONS, PublicRelease, partition_cells, public_aggregates
from apps.privacy.suppression import suppressed_cells

pytestmark = pytest.mark.django_db
HOURS = 6
PREFIX = "prv"


@pytest.fixture(scope="module")
def history(sumo_network, django_db_blocker) -> Iterator[dict[str, object]]:  # noqa: ANN001
    """Committed demo sensors under a prefix of their own and HOURS settled hours of history."""
    from django.db import connection

    from apps.demo_feed.backfill import backfill_demo_history
    from apps.demo_feed.sensors import create_demo_sensors
    from apps.sensors.models import Sensor

    end = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    with django_db_blocker.unblock():
        sensors = create_demo_sensors(network=sumo_network, prefix=PREFIX).sensors
        backfill_demo_history(end=end, hours=HOURS, prefix=PREFIX, missing=0.05)
        cache.clear()
    yield {"end": end, "start": end - timedelta(hours=HOURS), "sensors": sensors}
    with django_db_blocker.unblock():
        ids = [s.id for s in sensors]
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM telemetry_reading WHERE sensor_id = ANY(%s)", [ids])
            cursor.execute("DELETE FROM telemetry_rollup WHERE sensor_id = ANY(%s)", [ids])
            cursor.execute("DELETE FROM telemetry_latest WHERE sensor_id = ANY(%s)", [ids])
        Sensor.objects.filter(id__in=ids).delete()
        cache.clear()


@pytest.fixture(params=[10, 5], ids=["k10", "k5"])
def k(request, settings) -> int:  # noqa: ANN001
    """The default k, and k = 5, at which the demo city's small districts differ from overlapping H3 cells
    by fewer than k meters: complementary suppression has work to do (with primary suppression alone, the
    attacks below find groups of 1-4 meters)."""
    settings.CITYTWIN_PRIVACY_K = request.param
    return int(request.param)


def windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The whole span, its halves, every single hour and a window not on the hour."""
    mid = start + (end - start) / 2
    hours = [(start + timedelta(hours=h), start + timedelta(hours=h + 1)) for h in range(HOURS)]
    return [(start, end), (start, mid), (mid, end), *hours, (start + timedelta(minutes=20), end - timedelta(minutes=5))]


def releases(history: dict[str, object], dataset: str = "energy") -> list[PublicRelease]:
    start, end = history["start"], history["end"]
    return [
        public_aggregates(dataset=dataset, partition=p, start=a, end=b)  # type: ignore[arg-type]
        for p in PARTITIONS
        for a, b in windows(start, end)  # type: ignore[arg-type]
    ]


def source_sets(history: dict[str, object]) -> dict[datetime, dict[tuple[str, str], set[int]]]:
    """Ground truth the attacker is granted in the worst case: which meters reported in each hour and
    where each one is (meter locations are assumed known)."""
    from django.db import connection

    where = {p.sensor_id: p for p in placed_sensors("energy")}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT bucket, sensor_id FROM telemetry_rollup WHERE resolution = '1h' AND property = 'energy_kwh' "
            "AND bucket >= %s AND bucket < %s AND sensor_id = ANY(%s)",
            [history["start"], history["end"], list(where)],
        )
        rows = cursor.fetchall()
    sets: dict[datetime, dict[tuple[str, str], set[int]]] = defaultdict(lambda: defaultdict(set))
    for bucket, sid in rows:
        sets[bucket][("district", where[sid].district)].add(sid)
        sets[bucket][("h3", where[sid].h3)].add(sid)
    return sets


def published(history: dict[str, object]) -> dict[datetime, dict[tuple[str, str], tuple[float, int]]]:
    """Everything the attacker collects: (value, n_sources) per published (partition, cell) per hour, after
    checking that every window says the same about the same cell-hour."""
    seen: dict[tuple[str, str, datetime], tuple[float | None, int | None]] = {}
    for release in releases(history):
        for row in release.rows:
            key = (release.partition, row.cell, row.bucket)
            assert seen.setdefault(key, (row.value, row.n_sources)) == (row.value, row.n_sources), key
    out: dict[datetime, dict[tuple[str, str], tuple[float, int]]] = defaultdict(dict)
    for (partition, cell, bucket), (value, n) in seen.items():
        if value is not None and n is not None:
            out[bucket][(partition, cell)] = (value, n)
    return out


def test_enough_demo_meters_for_districts_to_pass_k(history) -> None:  # noqa: ANN001
    meters = [s for s in history["sensors"] if s.kind == "energy"]
    assert len(meters) >= 200 and all(s.building_id for s in meters)
    release = public_aggregates(dataset="energy", partition="district", start=history["start"], end=history["end"])
    shown = {r.cell for r in release.rows if not r.suppressed}
    cells = {r.cell for r in release.rows}
    assert len(shown) >= len(cells) / 2, (shown, cells)


def test_smallest_group_in_every_public_output_is_at_least_k(history, k) -> None:  # noqa: ANN001
    for release in releases(history):
        assert release.k == k and release.rows
        for row in release.rows:
            assert row.bucket.minute == 0 and row.bucket.tzinfo is not None
            if row.suppressed:
                assert row.value is None and row.n_sources is None
            else:
                assert row.n_sources is not None and row.n_sources >= k, row
    assert any(row.suppressed for release in releases(history) for row in release.rows)


def test_published_counts_are_the_true_source_counts(history) -> None:  # noqa: ANN001
    truth = source_sets(history)
    for bucket, cells in published(history).items():
        for node, (_, n) in cells.items():
            assert n == len(truth[bucket][node])


def _support(combination: dict[tuple[str, str], int], sets: dict[tuple[str, str], set[int]]) -> set[int]:
    """The meters a signed sum of published cells depends on (weight not zero)."""
    weight: dict[int, int] = defaultdict(int)
    for node, c in combination.items():
        for sid in sets[node]:
            weight[sid] += c
    return {sid for sid, w in weight.items() if w}


def test_district_minus_its_h3_cells_recovers_no_small_group(history, k) -> None:  # noqa: ANN001
    """Attack (a): a district minus the published H3 cells whose meters all lie in it (and the other way
    round), by source sets, not geometry."""
    truth = source_sets(history)
    for bucket, cells in published(history).items():
        sets = truth[bucket]
        for outer_side, inner_side in (("district", "h3"), ("h3", "district")):
            for outer in (n for n in cells if n[0] == outer_side):
                inner = [n for n in cells if n[0] == inner_side and sets[n] <= sets[outer]]
                rest = sets[outer] - set().union(*(sets[n] for n in inner))
                assert not rest or len(rest) >= k, (bucket, outer, inner, len(rest))


def test_overlapping_cells_of_the_two_partitions_isolate_no_small_group(history, k) -> None:  # noqa: ANN001
    """Attacks (b) and (d): any district minus any H3 cell (nested, overlapping or covering the same
    meters): the difference depends on the symmetric difference of their meters."""
    truth = source_sets(history)
    for bucket, cells in published(history).items():
        for d, h in itertools.product((n for n in cells if n[0] == "district"), (n for n in cells if n[0] == "h3")):
            support = _support({d: 1, h: -1}, truth[bucket])
            assert not support or len(support) >= k, (bucket, d, h, len(support))


def test_signed_sums_of_up_to_four_published_cells_isolate_no_small_group(history, k) -> None:  # noqa: ANN001
    """The general linear attack, independent of the suppression's own min-cut argument: every signed sum
    of up to 3 published cells of an hour exhaustively, and 20,000 random signed sums of any size."""
    truth = source_sets(history)
    rng = random.Random(11)
    for bucket, cells in published(history).items():
        nodes = sorted(cells)
        for size in (1, 2, 3):
            for chosen in itertools.combinations(nodes, size):
                for signs in itertools.product((1, -1), repeat=size - 1):
                    support = _support(dict(zip(chosen, (1, *signs), strict=True)), truth[bucket])
                    assert not support or len(support) >= k, (bucket, chosen, signs, len(support))
        for _ in range(20_000 // len(published(history))):
            combination = {n: rng.choice((-1, 0, 1)) for n in nodes}
            support = _support(combination, truth[bucket])
            assert not support or len(support) >= k


def test_windows_repeat_the_same_hourly_rows(history, k) -> None:  # noqa: ANN001
    """Attack (c): a sum over a longer window minus a shorter one is the sum of rows the attacker already
    has. Every window answers hourly rows only, each the same as the hour asked alone (checked in
    published()), and the long window is exactly the union of the hours."""
    start, end = history["start"], history["end"]
    for partition in PARTITIONS:
        whole = public_aggregates(dataset="energy", partition=partition, start=start, end=end).rows
        hours = [
            row
            for h in range(HOURS)
            for row in public_aggregates(
                dataset="energy",
                partition=partition,
                start=start + timedelta(hours=h),
                end=start + timedelta(hours=h + 1),
            ).rows
        ]
        assert sorted(whole, key=lambda r: (r.bucket, r.cell)) == sorted(hours, key=lambda r: (r.bucket, r.cell))


def test_count_changes_across_hours_are_hourly_facts_only(history, k) -> None:  # noqa: ANN001
    """Attack (e): n_sources of a cell changes between hours as meters miss a reading; each hour is
    suppressed on its own sources, so an hour's row is the same whatever the neighbouring hours hold."""
    truth = source_sets(history)
    seen = published(history)
    for bucket in seen:
        atoms: dict[tuple[str, str], int] = defaultdict(int)
        for node, sids in truth[bucket].items():
            if node[0] == "district":
                for sid in sids:
                    cell = next(n for n, s in truth[bucket].items() if n[0] == "h3" and sid in s)
                    atoms[(node[1], cell[1])] += 1
        hidden = suppressed_cells(((d, c, n) for (d, c), n in atoms.items()), k)
        assert set(seen[bucket]) == {n for n in truth[bucket] if n not in hidden}


def test_no_meter_or_building_in_any_public_output(history, api) -> None:  # noqa: ANN001
    from apps.buildings.models import Building

    meters = [s for s in history["sensors"] if s.kind == "energy"]
    buildings = Building.objects.filter(id__in=[s.building_id for s in meters])
    needles = {s.code for s in meters} | {f"{b.source}:{b.source_id}" for b in buildings} | {"meter"}
    needles |= {b.name for b in buildings if b.name}
    texts = [partition_cells(p) for p in PARTITIONS]
    for p in PARTITIONS:
        for fmt in ("json", "csv"):
            answer = api.get(
                "/api/public/aggregates/",
                {"dataset": "energy", "partition": p, "start": history["start"].isoformat(), "format": fmt},
            )
            assert answer.status_code == 200
            texts.append(answer.content.decode())
    for text in texts:
        for needle in needles:
            assert needle not in text, needle
    cells = {f["properties"]["cell"] for p in PARTITIONS for f in json.loads(partition_cells(p))["features"]}
    body = json.loads(texts[2])
    assert body["results"] and {r["cell"] for r in body["results"]} <= cells
    assert all(
        set(r)
        in (
            {"cell", "cell_name", "bucket", "suppressed"},
            {"cell", "cell_name", "bucket", "value", "unit", "n_sources"},
        )
        for r in body["results"]
    )


def test_the_api_answers_json_and_csv_with_licence(history, api) -> None:  # noqa: ANN001
    params = {
        "dataset": "traffic",
        "partition": "h3",
        "start": history["start"].isoformat(),
        "end": history["end"].isoformat(),
    }
    body = api.get("/api/public/aggregates/", params).json()
    assert body["k"] == 1 and body["epsilon"] is None and body["licence"] == conf.licence()
    assert len({r["bucket"] for r in body["results"]}) == HOURS
    csv_answer = api.get("/api/public/aggregates/", {**params, "format": "csv"})
    assert csv_answer.status_code == 200 and csv_answer["Content-Type"].startswith("text/csv")
    lines = csv_answer.content.decode().splitlines()
    assert lines[1].startswith("# Licence: CC-BY-4.0") and "OpenStreetMap" in lines[1]
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[2:]))))
    assert [(r["cell"], r["bucket"]) for r in rows] == [(r["cell"], r["bucket"]) for r in body["results"]]
    cells = api.get("/api/public/partitions/h3/")
    assert cells.status_code == 200 and json.loads(cells.content)["type"] == "FeatureCollection"
    assert api.get("/api/public/partitions/bbox/").status_code == 404  # fixed partitions only


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"dataset": "people"}, "dataset"),
        ({"dataset": "energy", "partition": "bbox"}, "partition"),
        ({"dataset": "energy", "measure": "no2"}, "measure"),
        ({"dataset": "energy", "start": "2026-01-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"}, "window"),
        ({"dataset": "energy", "start": "2026-03-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "after"),
        ({"dataset": "air_quality", "dp": "1"}, "sums"),
    ],
)
def test_bad_public_queries_are_domain_errors(api, params: dict[str, str], field: str) -> None:  # noqa: ANN001
    answer = api.get("/api/public/aggregates/", params)
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_public_query"
    assert field in answer.json()["detail"]


def test_the_dp_ledger_refuses_a_release_past_the_budget(history, api, settings) -> None:  # noqa: ANN001
    settings.CITYTWIN_PRIVACY_BUDGET_ENERGY = 4.0
    settings.CITYTWIN_PRIVACY_EPSILON_PER_HOUR = 0.5
    before = PrivacyLedgerEntry.objects.filter(dataset="energy").count()
    start = history["end"] - timedelta(hours=4)
    first = api.get(
        "/api/public/aggregates/",
        {"dataset": "energy", "dp": "1", "start": start.isoformat(), "end": history["end"].isoformat()},
    )
    assert first.status_code == 200 and first.json()["epsilon"] == pytest.approx(2.0)
    again = api.get(
        "/api/public/aggregates/",
        {"dataset": "energy", "dp": "1", "start": start.isoformat(), "end": history["end"].isoformat()},
    )
    assert again.json() == first.json()  # the cached release: the same noise, nothing spent
    assert PrivacyLedgerEntry.objects.filter(dataset="energy").count() == before + 1
    for row in first.json()["results"]:
        assert row.get("suppressed") or row["n_sources"] >= conf.k_threshold()
    longer = api.get(
        "/api/public/aggregates/",
        {
            "dataset": "energy",
            "dp": "1",
            "partition": "h3",
            "start": (history["end"] - timedelta(hours=HOURS)).isoformat(),
            "end": history["end"].isoformat(),
        },
    )
    assert longer.status_code == 403 and longer.json()["code"] == "privacy_budget_exhausted"
    assert PrivacyLedgerEntry.objects.filter(dataset="energy").count() == before + 1
    exact = public_aggregates(dataset="energy", partition="district", start=start, end=history["end"])
    assert exact.epsilon is None


def test_suppression_closes_the_district_minus_cell_gap() -> None:
    """A hand-made hour: district D holds 20 meters in cell A and 3 in cell B (B has nothing else). B is
    below k; D minus A would be B's 3 meters, so one of D and A goes too."""
    hidden = suppressed_cells([("D", "A", 20), ("D", "B", 3), ("E", "C", 30)], 10)
    assert ("h3", "B") in hidden and (("district", "D") in hidden or ("h3", "A") in hidden)
    assert not hidden & {("district", "E"), ("h3", "C")}
    # The same meters in both partitions: publishing both reveals nothing new.
    assert suppressed_cells([("D", "A", 12)], 10) == frozenset()
    # A chain: D1 = A + B, D2 = B + C, with B small: D1 - A = B.
    chain = suppressed_cells([("1", "A", 15), ("1", "B", 2), ("2", "B", 2), ("2", "C", 15)], 10)
    assert ("h3", "B") in chain and len(chain) >= 2


def test_datasets_and_partitions_are_the_contract() -> None:
    assert DATASETS == ("energy", "traffic", "air_quality") and PARTITIONS == ("district", "h3")
