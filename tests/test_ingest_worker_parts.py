"""Parts of the MQTT ingest worker's fast path, checked against what they replace: the batched PUBACKs
against paho's own ack(), the orjson fast path against json, the shared-subscription topic."""

from __future__ import annotations

import json

import paho.mqtt.client as mqtt
import pytest

from apps.telemetry import conf
from apps.telemetry.mqtt import TOPIC, ack_batch, subscription
from apps.telemetry.payloads import CAREFUL, loads_fast


def _queued(client: mqtt.Client) -> bytes:
    return b"".join(bytes(p["packet"]) for p in client._out_packet)  # what paho would write to the socket


def _messages(mids_qos: list[tuple[int, int]]) -> list[mqtt.MQTTMessage]:
    out = []
    for mid, qos in mids_qos:
        m = mqtt.MQTTMessage(mid=mid, topic=b"citytwin/v1/sensors/x/readings")
        m.qos = qos
        out.append(m)
    return out


def test_one_buffer_of_pubacks_is_byte_for_byte_what_ack_sends_per_message() -> None:
    messages = _messages([(1, 1), (2, 1), (300, 1), (65535, 1), (7, 0)])
    one_by_one = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="a", manual_ack=True)
    batched = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="b", manual_ack=True)
    for m in messages:
        one_by_one.ack(m.mid, m.qos)
    ack_batch(batched, messages)
    assert _queued(batched) == _queued(one_by_one)
    assert len(_queued(batched)) == 4 * 4  # a PUBACK per QoS 1 message, none for QoS 0
    assert len(batched._out_packet) == 1  # in one write


def test_the_share_group_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CITYTWIN_MQTT_SHARE_GROUP", raising=False)
    assert subscription(conf.mqtt_share_group() or None) == TOPIC
    monkeypatch.setenv("CITYTWIN_MQTT_SHARE_GROUP", "ingest")
    assert subscription(conf.mqtt_share_group() or None) == "$share/ingest/" + TOPIC


DOCUMENTS = [
    '{"time": "2026-11-23T08:00:00Z", "seq": 7, "values": {"pm2_5": 7.4, "no2": 21}}',
    '[{"time": "2026-11-23T08:00:00Z", "values": {"pm2_5": 1e-5}}, {"values": {"pm2_5": -0.0}}]',
    '{"seq": 9223372036854775807}',
    '{"seq": -9223372036854775808}',
    '{"seq": -9223372036854775809}',  # below bigint: json keeps an int (orjson would not)
    '{"seq": 18446744073709551616}',
    '{"v": 1.00000000000000000000001}',
    '{"a": 1, "a": 2}',
    '{"text": "\\u00e9\\u0000"}',
    '{"v": 1e400}',
    '{"v": NaN}',
    '"\\ud800"',
    "[" * 17 + "]" * 17,
    '[{"a": ' + "[" * 16 + "]" * 16 + "}, 1]",
    "\ufeff{}",
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_the_fast_path_reads_what_json_reads_or_leaves_it_to_the_careful_path(text: str) -> None:
    for raw in (text, text.encode("utf-8")):
        fast = loads_fast(raw)
        if fast is CAREFUL:
            continue
        expected = json.loads(text)
        assert fast == expected
        assert json.dumps(fast) == json.dumps(expected)  # the same types (an int stays an int)
