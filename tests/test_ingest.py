"""The quality gate and the write path (service level), and the HTTP ingest and read-back API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.gis.geos import Point
from django.db import connection

from apps.accounts.models import Role
from apps.accounts.services import create_user
from apps.sensors.models import Sensor
from apps.telemetry.ingest import IncomingReading, fold_rollups, ingest
from apps.telemetry.models import LatestValue, QuarantinedReading, Rollup

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 8, 0, 30, tzinfo=UTC)


@pytest.fixture
def sensors(db) -> dict[str, Sensor]:  # noqa: ANN001
    made = {}
    for code, kind, lon in (("t-1", "traffic", 24.944), ("aq-1", "air_quality", 24.945), ("e-1", "energy", 24.946)):
        made[code] = Sensor.objects.create(
            code=code, kind=kind, geom=Point(lon, 60.169, srid=4326), source="test", source_id=code
        )
    return made


def mqtt(code: str, body: object, *, raw: bytes | None = None) -> IncomingReading:
    payload = raw if raw is not None else json.dumps(body).encode()
    return IncomingReading(source="mqtt", sensor_code=code, payload=payload, received_at=NOW)


def reading(minutes_ago: float = 0, **values: float) -> dict[str, object]:
    return {"time": (NOW - timedelta(minutes=minutes_ago)).isoformat(), "values": values}


def stored_count() -> int:
    with connection.cursor() as cursor:
        # Only this module's sensors: other tests' committed readings live in the same test database.
        cursor.execute(
            "SELECT count(*) FROM telemetry_reading r JOIN sensors_sensor s ON s.id = r.sensor_id "
            "WHERE s.code IN ('t-1', 'aq-1', 'e-1')"
        )
        return cursor.fetchone()[0]


def test_bad_inputs_are_quarantined_with_reasons_and_good_ones_around_them_stored(sensors) -> None:  # noqa: ANN001
    batch = [
        mqtt("aq-1", reading(5, pm2_5=10.0, no2=20.0)),  # 0 ok
        mqtt("aq-1", None, raw=b'{"time": "2026-11-23T08:00:00Z", "values": {'),  # 1 malformed JSON
        mqtt("nobody", reading(4, pm2_5=10.0)),  # 2 unknown sensor
        mqtt("aq-1", None, raw=b'{"time": "2026-11-23T07:57:00Z", "values": {"pm2_5": NaN}}'),  # 3 NaN
        mqtt("aq-1", reading(3, pm2_5=5000.0)),  # 4 out of range
        mqtt("aq-1", {"time": (NOW + timedelta(hours=2)).isoformat(), "values": {"pm2_5": 3.0}}),  # 5 future
        mqtt("aq-1", reading(5, pm2_5=10.0, no2=20.0)),  # 6 the same as 0: a redelivery, stored once, no error
        mqtt("aq-1", None, raw=b"x" * (1024 * 1024)),  # 7 1 MB payload
        mqtt("aq-1", reading(2, pm2_5="high")),  # 8 wrong type
        mqtt("aq-1", reading(2, speed=3.0)),  # 9 unknown property
        mqtt("aq-1", {"time": "2026-11-23 07:58", "values": {"pm2_5": 1.0}}),  # 10 no time zone
        mqtt("t-1", reading(1, vehicle_count=12, mean_speed_kmh=42.5, occupancy_pct=8.0)),  # 11 ok
        mqtt("e-1", reading(1, active_power_kw=3.2, energy_kwh=0.05)),  # 12 ok
        mqtt("aq-1", reading(1, pm2_5=11.0)),  # 13 ok
        mqtt("aq-1", reading(60 * 24 * 30, pm2_5=11.0)),  # 14 too old
        mqtt("aq-1", {"time": NOW.isoformat(), "values": {}}),  # 15 no values
        mqtt("aq-1", "just a string"),  # 16 not an object
        mqtt("aq-1", reading(0.5, temperature_c=45.0)),  # 17 ok on its own ...
        mqtt("aq-1", reading(0.4, temperature_c=-20.0)),  # 18 ... but 65 degrees in 6 s is impossible
        mqtt("aq-1", reading(5, pm2_5=99.0)),  # 19 same sensor and time as 0, other values: a conflict
    ]
    result = ingest(batch, now=NOW)

    reasons = {r.index: r.reason for r in result.rejected}
    assert reasons == {
        1: "malformed",
        2: "unknown_sensor",
        3: "not_finite",
        4: "out_of_range",
        5: "future_time",
        7: "too_large",
        8: "wrong_type",
        9: "unknown_property",
        10: "bad_time",
        14: "too_old",
        15: "no_values",
        16: "malformed",
        18: "rate_of_change",
        19: "duplicate",
    }
    assert result.redelivered == 1  # message 6
    assert sorted((r.code, r.time) for r in result.stored) == sorted(
        [("aq-1", NOW - timedelta(minutes=m)) for m in (5, 1, 0.5)]
        + [("t-1", NOW - timedelta(minutes=1)), ("e-1", NOW - timedelta(minutes=1))]
    )
    assert stored_count() == 5
    quarantined = QuarantinedReading.objects.filter(received_at=NOW).order_by("id")  # this batch only
    assert quarantined.count() == 14  # 20 messages: 5 stored, 1 redelivery, 14 refused
    big = quarantined.get(reason="too_large")
    assert len(big.payload) == 4096 and "1048576 bytes" in big.detail
    assert "pm2_5 = 5000 µg/m³ is outside 0..1000" in quarantined.get(reason="out_of_range").detail


def test_a_reading_delivered_twice_is_stored_once(sensors) -> None:  # noqa: ANN001
    first = ingest([mqtt("t-1", reading(1, vehicle_count=5))], now=NOW)
    again = ingest([mqtt("t-1", reading(1, vehicle_count=5))], now=NOW)

    assert len(first.stored) == 1 and not again.stored
    assert again.redelivered == 1 and not again.rejected  # a retry is not a data problem
    conflicting = ingest([mqtt("t-1", reading(1, vehicle_count=6))], now=NOW)
    assert conflicting.rejected[0].reason == "duplicate" and "other values" in conflicting.rejected[0].detail
    assert stored_count() == 1
    # The rollup counted it once.
    fold_rollups()
    assert Rollup.objects.get(resolution="1m", sensor=sensors["t-1"], property="vehicle_count").n == 1


def test_rollups_sum_counts_and_average_speeds(sensors) -> None:  # noqa: ANN001
    base = datetime(2026, 11, 23, 7, 0, 0, tzinfo=UTC)
    batch = [
        mqtt(
            "t-1",
            {"time": (base + timedelta(seconds=s)).isoformat(), "values": {"vehicle_count": c, "mean_speed_kmh": v}},
        )
        for s, c, v in ((0, 10, 40.0), (20, 20, 50.0), (40, 30, 60.0), (70, 5, 30.0))
    ]
    ingest(batch[:2], now=NOW)
    ingest(batch[2:], now=NOW)
    rollups = Rollup.objects.filter(sensor=sensors["t-1"])
    assert not rollups.exists()  # queued, not yet folded
    fold_rollups()
    assert rollups.count() == 2 * 4  # 2 properties x (two 1 min buckets, one 15 min, one 1 h)
    fold_rollups()  # each reading is folded once: the sums below are unchanged
    from apps.telemetry.selectors import series

    minute = series(sensors["t-1"], start=base, end=base + timedelta(minutes=2), resolution="1m")
    first, second = minute["points"]
    assert first["values"] == {"vehicle_count": 60.0, "mean_speed_kmh": 50.0}
    assert (first["min"]["mean_speed_kmh"], first["max"]["mean_speed_kmh"], first["count"]["vehicle_count"]) == (
        40.0,
        60.0,
        3,
    )
    assert second["values"] == {"vehicle_count": 5.0, "mean_speed_kmh": 30.0}
    hour = series(sensors["t-1"], start=base, end=base + timedelta(hours=1), resolution="1h")
    assert hour["points"][0]["values"] == {"vehicle_count": 65.0, "mean_speed_kmh": 45.0}
    assert LatestValue.objects.get(sensor=sensors["t-1"], property="mean_speed_kmh").value == 30.0


def test_deleting_a_sensor_deletes_its_rollups_and_latest_values(sensors) -> None:  # noqa: ANN001
    # The tables have no FK constraint in the database (migration 0004): Django's CASCADE does the work.
    ingest([mqtt("t-1", reading(1, vehicle_count=5)), mqtt("aq-1", reading(1, pm2_5=3.0))], now=NOW)
    fold_rollups()
    gone, kept = sensors["t-1"], sensors["aq-1"]
    assert Rollup.objects.filter(sensor=gone).count() == 3 and LatestValue.objects.filter(sensor=gone).exists()
    ingest([mqtt("t-1", reading(2, vehicle_count=7))], now=NOW)  # queued for the rollups ...

    gone.delete()
    fold_rollups()  # ... and dropped when folded: no orphan rollups

    assert not Rollup.objects.filter(sensor_id=gone.pk).exists()
    assert not LatestValue.objects.filter(sensor_id=gone.pk).exists()
    assert Rollup.objects.filter(sensor=kept).count() == 3 and LatestValue.objects.filter(sensor=kept).count() == 1


def test_latest_keeps_the_newest_even_when_older_readings_arrive_later(sensors) -> None:  # noqa: ANN001
    ingest([mqtt("aq-1", reading(1, pm2_5=12.0))], now=NOW)
    ingest([mqtt("aq-1", reading(3, pm2_5=30.0))], now=NOW)  # late, older
    assert LatestValue.objects.get(sensor=sensors["aq-1"], property="pm2_5").value == 12.0


def test_readings_table_is_partitioned_with_brin() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'telemetry_reading'::regclass")
        assert cursor.fetchone()[0] == "r"
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'telemetry_reading'")
        defs = " ".join(r[0] for r in cursor.fetchall())
    assert "USING brin" in defs and "UNIQUE INDEX" in defs


def test_http_ingest(api, api_as, sensors) -> None:  # noqa: ANN001
    service = create_user(username="ingest-svc", password="x-long-password-1", role=Role.INGEST)
    device = create_user(username="t-1", password="x-long-password-2", role=Role.DEVICE)
    now = datetime.now(UTC)
    body = [
        {"sensor": "t-1", "time": (now - timedelta(seconds=30)).isoformat(), "values": {"vehicle_count": 7}},
        {"sensor": "aq-1", "time": now.isoformat(), "values": {"pm2_5": -4}},
        {"sensor": "aq-1", "time": now.isoformat(), "values": {"pm2_5": 4}},
    ]
    assert api.post("/api/ingest/readings/", body, format="json").status_code in (401, 403)
    response = api_as(service).post("/api/ingest/readings/", body, format="json")
    assert response.status_code == 200
    data = response.json()
    assert (data["received"], data["stored"], data["redelivered"]) == (3, 2, 0)
    assert data["rejected"] == [
        {"index": 1, "sensor": "aq-1", "reason": "out_of_range", "detail": "pm2_5 = -4 µg/m³ is outside 0..1000"}
    ]

    # A device may only publish for itself.
    mine = {"sensor": "t-1", "time": now.isoformat(), "values": {"vehicle_count": 1}}
    other = {"sensor": "aq-1", "time": (now - timedelta(seconds=5)).isoformat(), "values": {"pm2_5": 5}}
    data = api_as(device).post("/api/ingest/readings/", [mine, other], format="json").json()
    assert data["stored"] == 1 and data["rejected"][0]["reason"] == "forbidden_sensor"

    assert api_as(service).post("/api/ingest/readings/", {"not": "a list"}, format="json").status_code == 400
    bad = api_as(service).post("/api/ingest/readings/", "{not json", content_type="application/json")
    assert bad.status_code == 400
    huge = api_as(service).post("/api/ingest/readings/", [mine] * 5001, format="json")
    assert huge.status_code == 413 and "at most 5000" in huge.json()["detail"]
    # Machine accounts read nothing beyond what the public reads.
    assert api_as(service).get("/api/sensors/e-1/").status_code == 404


def test_read_back_is_role_checked(api, api_as, planner, sensors) -> None:  # noqa: ANN001
    now = datetime.now(UTC)
    at = (now - timedelta(minutes=2)).isoformat()
    ingest(
        [
            mqtt("aq-1", {"time": at, "values": {"pm2_5": 9.0}}),
            mqtt("e-1", {"time": at, "values": {"active_power_kw": 1.5}}),
        ],
        now=now,
    )
    latest = api.get("/api/sensors/aq-1/latest/").json()
    assert latest["values"]["pm2_5"]["value"] == 9.0 and latest["values"]["pm2_5"]["unit"] == "µg/m³"
    assert api.get("/api/sensors/e-1/latest/").status_code == 404  # energy meters: personal data
    assert api.get("/api/sensors/e-1/readings/").status_code == 404
    data = api_as(planner).get("/api/sensors/e-1/readings/?resolution=raw").json()
    assert data["points"][0]["values"] == {"active_power_kw": 1.5}
    assert api.get("/api/sensors/aq-1/readings/?resolution=5m").status_code == 400
    assert api.get("/api/sensors/aq-1/readings/?start=2026-11-23T08:00:00").status_code == 400  # no zone
    assert (
        api.get("/api/sensors/aq-1/readings/?resolution=raw&start=2026-01-01T00:00:00Z").status_code == 400
    )  # too long


def test_a_threshold_rule_opens_an_alert_and_resolves_it(sensors) -> None:  # noqa: ANN001
    from apps.telemetry.models import Alert
    from apps.telemetry.services import evaluate_alerts

    aq = sensors["aq-1"]
    ingest([mqtt("aq-1", reading(m, pm2_5=40.0)) for m in range(16, -1, -1)], now=NOW)  # 17 minutes above 25
    fold_rollups()
    evaluate_alerts(sensor_ids={aq.pk}, now=NOW + timedelta(seconds=30))
    alert = Alert.objects.get(sensor=aq, property="pm2_5", resolved_at__isnull=True)
    assert alert.kind == "threshold" and alert.rule.name == "PM2.5 above 25 µg/m³" and alert.value == 40.0

    later = NOW + timedelta(minutes=20)  # then 17 minutes of clean air
    ingest([mqtt("aq-1", reading(-m, pm2_5=10.0)) for m in range(1, 18)], now=later)
    fold_rollups()
    evaluate_alerts(sensor_ids={aq.pk}, now=later)
    alert.refresh_from_db()
    assert alert.resolved_at is not None


def test_a_reading_far_from_the_same_hour_of_previous_days_is_flagged_as_an_anomaly(sensors) -> None:  # noqa: ANN001
    from apps.telemetry.models import Alert
    from apps.telemetry.services import evaluate_alerts

    aq = sensors["aq-1"]
    hour = NOW.replace(minute=0, second=0, microsecond=0)
    for day, mean in enumerate((9.0, 11.0, 10.0, 12.0, 8.0), start=1):  # the same hour on 5 earlier days
        Rollup.objects.create(
            resolution="1h", sensor=aq, property="pm2_5", bucket=hour - timedelta(days=day), n=4,
            total=4 * mean, minimum=mean, maximum=mean,
        )  # fmt: skip
    ingest([mqtt("aq-1", reading(0, pm2_5=10.5))], now=NOW)
    fold_rollups()
    evaluate_alerts(sensor_ids={aq.pk}, now=NOW)
    assert not Alert.objects.filter(sensor=aq, kind="anomaly").exists()  # z = 0.3: normal

    ingest([mqtt("aq-1", reading(-0.5, pm2_5=60.0))], now=NOW)  # same 15 min bucket: its mean is 35.25
    fold_rollups()
    evaluate_alerts(sensor_ids={aq.pk}, now=NOW + timedelta(minutes=1))
    alert = Alert.objects.get(sensor=aq, kind="anomaly")
    assert alert.property == "pm2_5" and alert.value == pytest.approx(35.25)


def test_a_message_may_carry_several_readings_of_its_sensor(sensors) -> None:  # noqa: ANN001
    gateway = [
        reading(3, pm2_5=10.0),
        reading(2, pm2_5=11.0),
        reading(1, pm2_5=5000.0),  # out of range: quarantined on its own
        "not a reading",
        reading(0, pm2_5=12.0),
    ]
    result = ingest(
        [
            mqtt("aq-1", gateway),
            mqtt("aq-1", []),
            mqtt("aq-1", [{}] * 1001),  # more than a message may carry
        ],
        now=NOW,
    )
    assert sorted(r.values["pm2_5"] for r in result.stored) == [10.0, 11.0, 12.0]
    rejected = {(r.index, r.reason): r for r in result.rejected}
    assert sorted(rejected) == [(0, "malformed"), (0, "out_of_range"), (1, "malformed"), (2, "malformed")]
    assert "element 3 of the array" in rejected[0, "malformed"].detail and "1..1000" in rejected[2, "malformed"].detail
    payloads = dict(QuarantinedReading.objects.filter(sensor_code="aq-1").values_list("reason", "payload"))
    assert json.loads(payloads["out_of_range"])["values"] == {"pm2_5": 5000.0}  # the reading, not the message
