"""Hostile and broken readings (issue 8, items 5 and 10a/b): values that used to fail a whole batch (a 500
over HTTP, the one-by-one fallback or worse over MQTT) are each a rejection with a precise reason, and the
valid readings around them are stored; the topic names the sensor; a device cannot tell a sensor that does
not exist from one that is not its own."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection

from apps.accounts.models import Role
from apps.accounts.services import create_user
from apps.sensors.models import Sensor
from apps.telemetry.ingest import IncomingReading, ingest
from apps.telemetry.models import QuarantinedReading

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 8, 0, 30, tzinfo=UTC)
PLUS_16 = timezone(timedelta(hours=16))
DEEP = 2000  # levels: twice Python's recursion limit, and several fit in the 16 KB of an MQTT message
BIG_INT = "1" + "0" * 400  # a JSON integer no float can hold
TOO_MANY_DIGITS = "1" * 5000  # more digits than Python's int() reads


@pytest.fixture
def sensors(db) -> dict[str, Sensor]:  # noqa: ANN001
    made = {}
    for code, kind, lon in (
        ("hx-t-1", "traffic", 24.944),
        ("hx-aq-1", "air_quality", 24.945),
        ("hx-e-1", "energy", 24.946),
    ):
        made[code] = Sensor.objects.create(
            code=code, kind=kind, geom=Point(lon, 60.169, srid=4326), source="test", source_id=code
        )
    return made


def at(seconds_ago: float, tz: timezone = UTC, base: datetime = NOW) -> str:
    return (base - timedelta(seconds=seconds_ago)).astimezone(tz).isoformat()


def mqtt_raw(code: str, text: str) -> IncomingReading:
    return IncomingReading(source="mqtt", sensor_code=code, payload=text.encode(), received_at=NOW)


def stored_times(code: str) -> list[datetime]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.time FROM telemetry_reading r JOIN sensors_sensor s ON s.id = r.sensor_id WHERE s.code = %s "
            "ORDER BY r.time",
            [code],
        )
        return [row[0] for row in cursor.fetchall()]


def obj(**fields: str) -> str:
    """A JSON object from raw JSON texts (the values may be what no JSON library would write)."""
    return "{" + ", ".join(f"{json.dumps(name)}: {text}" for name, text in fields.items()) + "}"


def traffic(time: str, count: str = "1", **fields: str) -> str:
    return obj(**fields, time=json.dumps(time), values=obj(vehicle_count=count))


def test_values_that_failed_the_whole_batch_are_each_rejected_and_the_rest_is_stored(sensors) -> None:  # noqa: ANN001
    deep_value = "[" * DEEP + "]" * DEEP
    messages = {
        "ok": traffic(at(300)),
        "offset +16:00": traffic(at(299, PLUS_16)),
        "offset +99:00": traffic("2026-11-23T08:00:00+99:00"),
        "seq 2**63": traffic(at(298), seq=str(2**63)),
        "seq 10**30": traffic(at(297), seq=str(10**30)),
        "seq below bigint": traffic(at(296), seq=str(-(2**63) - 1)),
        "seq -2**63": traffic(at(295), seq=str(-(2**63))),
        "10**400": traffic(at(294), BIG_INT),
        "1e999": traffic(at(293), "1e999"),
        "NaN": traffic(at(292), "NaN"),
        "-Infinity": traffic(at(291), "-Infinity"),
        "5000 digits": traffic(at(290), TOO_MANY_DIGITS),
        "year 0": traffic("0001-01-01T00:00:00+01:00"),
        "year 10000": traffic("9999-12-31T23:59:59-01:00"),
        "deep value": traffic(at(289), deep_value),
        "deep message": '{"a":' * DEEP + "1" + "}" * DEEP,
        "NUL in the body's sensor": traffic(at(288), sensor=r'"hx-t-1\u0000"'),
        "NUL and surrogate in a property": obj(time=json.dumps(at(287)), values=r'{"\ud800\u0000": 1}'),
        "NUL and surrogate in the time": traffic("2026-11-23T08:00:00\x00\udfff"),
        "offset +15:59": traffic(at(286, timezone(timedelta(hours=15, minutes=59)))),
        "array": "["
        + ", ".join(
            [
                traffic(at(280), "2"),
                traffic(at(279), deep_value),
                traffic(at(278), "2", seq=str(10**30)),
                traffic(at(277), TOO_MANY_DIGITS),
                traffic(at(276, PLUS_16), "2"),
                deep_value,
                traffic(at(275), "2"),
            ]
        )
        + "]",
        # JSON can read 20 levels, the gate refuses them: the element's own text is quarantined
        "array, 20 levels": f"[{traffic(at(274), '4')}, {traffic(at(273), '[' * 20 + ']' * 20)}]",
    }
    names = list(messages)
    batch = [mqtt_raw("hx-t-1", text) for text in messages.values()]
    batch.append(mqtt_raw("", traffic(at(270), "3", sensor='"hx-t-1"')))
    batch.append(mqtt_raw("hx-aq-1", traffic(at(269), "3", sensor='"hx-t-1"')))
    names += ["empty topic level", "body names another sensor than the topic"]

    result = ingest(batch, now=NOW)  # raised (a DataError or a RecursionError) for the whole batch before

    got = [(names[r.index], r.reason) for r in result.rejected]
    assert got == [
        ("offset +16:00", "bad_time"),
        ("offset +99:00", "bad_time"),
        ("seq 2**63", "out_of_range"),
        ("seq 10**30", "out_of_range"),
        ("seq below bigint", "out_of_range"),
        ("10**400", "out_of_range"),
        ("1e999", "not_finite"),
        ("NaN", "not_finite"),
        ("-Infinity", "not_finite"),
        ("5000 digits", "malformed"),
        ("year 0", "bad_time"),
        ("year 10000", "bad_time"),
        ("deep value", "malformed"),
        ("deep message", "malformed"),
        ("NUL in the body's sensor", "forbidden_sensor"),
        ("NUL and surrogate in a property", "unknown_property"),
        ("NUL and surrogate in the time", "bad_time"),
        ("array", "malformed"),  # the deep element
        ("array", "malformed"),  # the one with too many digits
        ("array", "malformed"),  # the bare deep array
        ("array", "out_of_range"),  # seq
        ("array", "bad_time"),  # +16:00
        ("array, 20 levels", "malformed"),
        ("empty topic level", "unknown_sensor"),
        ("body names another sensor than the topic", "forbidden_sensor"),
    ]
    details = {names[r.index]: r.detail for r in result.rejected}
    assert "+16:00, beyond ±15:59" in details["offset +16:00"]
    assert "beyond ±15:59" in details["offset +99:00"]
    assert "64-bit integer range" in details["seq 10**30"]
    assert "outside 0..10000" in details["10**400"]
    assert "more than 4300 digits" in details["5000 digits"]
    assert "outside the years 1..9999" in details["year 0"]
    assert "nested more than 16 levels" in details["deep value"]
    assert "the topic names no sensor" in details["empty topic level"]
    assert (
        "names sensor 'hx-t-1' but came on the topic of 'hx-aq-1'"
        in details["body names another sensor than the topic"]
    )

    # Stored: the valid ones, in UTC, +15:59 included; nothing for the other sensor or the empty topic.
    expected = [NOW - timedelta(seconds=s) for s in (300, 295, 286, 280, 275, 274)]
    assert stored_times("hx-t-1") == sorted(expected)
    assert stored_times("hx-aq-1") == []
    assert all(r.time.utcoffset() == timedelta(0) for r in result.stored)
    rows = QuarantinedReading.objects.filter(received_at=NOW, sensor_code__in=("hx-t-1", "hx-aq-1", ""))
    assert rows.count() == len(result.rejected)
    for row in rows:  # what PostgreSQL text can hold: no NUL, no lone surrogate
        for text in (row.sensor_code, row.detail, row.payload):
            assert "\x00" not in text
            text.encode("utf-8")
    twenty = next(r for r in result.rejected if names[r.index] == "array, 20 levels")
    assert "nested more than 16 levels" in twenty.detail and twenty.item.text.startswith('{"time"')
    assert rows.get(reason="unknown_property").detail.startswith("'\\ud800\\x00' is not a traffic property")


def test_http_ingest_answers_each_hostile_item_and_stores_the_rest(api_as, sensors) -> None:  # noqa: ANN001
    service = create_user(username="hx-ingest", password="x-long-password-1", role=Role.INGEST)
    now = datetime.now(UTC)
    deep_value = "[" * 100_000 + "]" * 100_000

    def item(seconds_ago: float, count: str = "1", tz: timezone = UTC, **fields: str) -> str:
        return traffic(at(seconds_ago, tz, now), count, **{"sensor": '"hx-t-1"', **fields})

    items = [
        item(60),  # 0 ok
        item(59, tz=PLUS_16),  # 1
        item(58, seq=str(2**63)),  # 2
        item(57, seq=str(10**30)),  # 3
        item(56, "NaN"),  # 4
        item(55, BIG_INT),  # 5
        item(54, deep_value),  # 6: 100,000 levels inside a value
        item(53, sensor="123"),  # 7: codes are strings
        item(52, sensor='["hx-t-1"]'),  # 8
        item(51, sensor=r'"hx-t-1\u0000"'),  # 9
        item(50, sensor=r'"\ud800"'),  # 10
        deep_value,  # 11: 100,000 levels as an element
        "5",  # 12
        item(49, TOO_MANY_DIGITS),  # 13
        item(48),  # 14 ok
        item(47, "Infinity"),  # 15
    ]
    body = "[" + ", ".join(items) + "]"
    response = api_as(service).post("/api/ingest/readings/", body, content_type="application/json")

    assert response.status_code == 200, response.content[:300]
    data = response.json()
    assert (data["received"], data["stored"]) == (16, 2)
    reasons = {r["index"]: r["reason"] for r in data["rejected"]}
    assert reasons == {
        1: "bad_time",
        2: "out_of_range",
        3: "out_of_range",
        4: "not_finite",
        5: "out_of_range",
        6: "malformed",
        7: "unknown_sensor",
        8: "unknown_sensor",
        9: "unknown_sensor",
        10: "unknown_sensor",
        11: "malformed",
        12: "malformed",
        13: "malformed",
        15: "not_finite",
    }
    details = {r["index"]: r["detail"] for r in data["rejected"]}
    assert "nested more than 16 levels" in details[6] and "nested more than 16 levels" in details[11]
    assert details[7] == "'sensor' must be a sensor code (a string), not 123"
    assert stored_times("hx-t-1") == [now - timedelta(seconds=60), now - timedelta(seconds=48)]
    assert QuarantinedReading.objects.filter(source="http", received_at__gte=now).count() == 14
    latin = api_as(service).post("/api/ingest/readings/", b"[\xff]", content_type="application/json")
    assert latin.status_code == 400 and "not utf-8 text" in latin.json()["detail"]
    form = api_as(service).post("/api/ingest/readings/", {"sensor": "hx-t-1"})  # multipart: not a JSON list
    assert form.status_code == 415 and "Unsupported media type" in form.json()["detail"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"a": ' * 100_000 + "1" + "}" * 100_000, "nested more than 16 levels"),  # as the body: RecursionError
        ("[" * 100_000, "never closed"),
        ('[{"sensor": "hx-t-1"}, {"sensor": ]', "Expecting value: line 1 column 35"),
        ('[{"sensor": "hx-t-1"}] [', "extra data"),
    ],
)
def test_http_ingest_answers_400_for_a_body_it_cannot_read(api_as, body: str, message: str) -> None:  # noqa: ANN001
    service = create_user(username="hx-ingest", password="x-long-password-1", role=Role.INGEST)
    response = api_as(service).post("/api/ingest/readings/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed" and message.lower() in response.json()["detail"].lower()


def test_a_device_gets_the_same_answer_for_a_sensor_that_does_not_exist_and_one_that_is_not_its_own(
    api_as, sensors
) -> None:  # noqa: ANN001
    device = create_user(username="hx-t-1", password="x-long-password-2", role=Role.DEVICE)
    now = datetime.now(UTC)
    body = [
        {"sensor": "hx-e-1", "time": at(30, base=now), "values": {"energy_kwh": 1}},  # exists, not its own
        {"sensor": "hx-nobody", "time": at(30, base=now), "values": {"energy_kwh": 1}},  # does not exist
        {"sensor": "hx-t-1", "time": at(30, base=now), "values": {"vehicle_count": 4}},  # its own
    ]
    data = api_as(device).post("/api/ingest/readings/", body, format="json").json()

    assert data["stored"] == 1
    first, second = data["rejected"]
    assert (first["reason"], first["detail"]) == (second["reason"], second["detail"])
    assert (first["reason"], first["detail"]) == ("forbidden_sensor", "this account may publish only for hx-t-1")
    # Staff see what really happened.
    rows = QuarantinedReading.objects.filter(source="http", received_at__gte=now)
    assert dict(rows.values_list("sensor_code", "reason")) == {
        "hx-e-1": "forbidden_sensor",
        "hx-nobody": "unknown_sensor",
    }
    assert "no sensor with code 'hx-nobody'" in rows.get(sensor_code="hx-nobody").detail


def test_a_topic_that_is_not_utf8_is_quarantined_and_the_worker_goes_on(sensors) -> None:  # noqa: ANN001
    from apps.telemetry.mqtt import IngestWorker

    started = datetime.now(UTC)
    worker = IngestWorker("mqtt://127.0.0.1:9")  # never connected: only its store step runs
    message = mqtt.MQTTMessage(mid=1, topic=b"citytwin/v1/sensors/hx-t-1\xff/readings")
    message.qos = 1
    message.payload = json.dumps(
        {"sensor": "hx-t-1", "time": datetime.now(UTC).isoformat(), "values": {"vehicle_count": 1}}
    ).encode()

    worker._store([message])

    assert worker.stats.rejected == 1 and stored_times("hx-t-1") == []
    row = QuarantinedReading.objects.get(received_at__gte=started, sensor_code="", reason="unknown_sensor")
    assert row.detail.startswith("the topic names no sensor")


# --- the real worker, through the real broker -------------------------------------------------------


def _publish_all(messages: list[tuple[str, bytes]]) -> None:
    broker = urlparse(settings.MQTT_URL)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hx-pub-{uuid.uuid4().hex[:8]}")
    client.connect(broker.hostname or "127.0.0.1", broker.port or 1883)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_the_worker_quarantines_poison_messages_with_their_reasons_and_keeps_storing(
    ingest_worker, live_sensors
) -> None:  # noqa: ANN001
    traffic_code, air = live_sensors["traffic"].code, live_sensors["air_quality"]
    topic = f"citytwin/v1/sensors/{traffic_code}/readings"
    run = uuid.uuid4().hex[:10]
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)

    def body(n: int, count: str = "1", tz: timezone = UTC, **fields: str) -> str:
        return traffic(at(-n, tz, now), count, m=json.dumps(f"{run}-{n}"), **fields)

    deep = "[" * DEEP + "]" * DEEP
    other_topic = f"citytwin/v1/sensors/{air.code}/readings"
    hostile = {  # marker: (topic, payload, expected reason)
        1: (topic, body(1, tz=PLUS_16), "bad_time"),
        2: (topic, body(2, seq=str(2**63)), "out_of_range"),
        3: (topic, body(3, BIG_INT), "out_of_range"),
        4: (topic, body(4, deep), "malformed"),
        5: (topic, obj(m=json.dumps(f"{run}-5"), x=deep), "malformed"),
        6: (topic, body(6, TOO_MANY_DIGITS), "malformed"),
        7: (topic, obj(m=json.dumps(f"{run}-7"), time=json.dumps(at(-7, base=now)), values=r'{"\u0000": 1}'), "unknown_property"),
        # item 10a: the topic names the sensor; the body may not override it
        8: ("citytwin/v1/sensors//readings", body(8, sensor=json.dumps(traffic_code)), "unknown_sensor"),
        9: (other_topic, body(9, sensor=json.dumps(traffic_code)), "forbidden_sensor"),
        # arrays: each element on its own
        10: (topic, f"[{body(10, deep)}, {body(11, '5')}]", "malformed"),
        12: (topic, f"[{body(12, seq=str(-(10**30)))}, {body(13, '6')}]", "out_of_range"),
    }  # fmt: skip
    sentinel = now + timedelta(seconds=30)
    messages = [(t, payload.encode()) for t, payload, _ in hostile.values()]
    messages.append((topic, json.dumps({"time": sentinel.isoformat(), "values": {"vehicle_count": 9}}).encode()))
    _publish_all(messages)

    deadline = time.monotonic() + 20
    while sentinel not in stored_times(traffic_code):
        assert ingest_worker.poll() is None, "the ingest worker died"
        assert time.monotonic() < deadline, "the valid reading after the poison ones was not stored"
        time.sleep(0.1)

    assert ingest_worker.poll() is None
    rows = QuarantinedReading.objects.filter(payload__contains=f'"{run}-')
    by_marker = {row.payload.split(f'"{run}-', 1)[1].split('"', 1)[0]: row for row in rows}
    assert {int(m): row.reason for m, row in by_marker.items()} == {m: reason for m, (_, _, reason) in hostile.items()}
    assert rows.count() == len(hostile)  # once each: no redelivery, no loop
    assert not rows.filter(detail__startswith="could not be processed").exists()
    stored = stored_times(traffic_code)
    assert now + timedelta(seconds=11) in stored and now + timedelta(seconds=13) in stored  # the valid neighbours
    for n in (1, 2, 3, 4, 6, 7, 8, 9, 10, 12):
        assert now + timedelta(seconds=n) not in stored
    assert stored_times(air.code).count(now + timedelta(seconds=9)) == 0
