"""The upkeep behind ingest: HTTP ingest answers after its commit, and the rollups and alerts of what it
stored are brought up to date afterwards by the MQTT worker's maintenance thread or the Celery beat safety net
(apps/telemetry/services.py telemetry_upkeep, evaluate_pending_alerts; mqtt.py IngestWorker._maintain)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.gis.geos import Point

from apps.accounts.models import Role
from apps.accounts.services import create_user
from apps.sensors.models import Sensor
from apps.telemetry import services
from apps.telemetry.ingest import IncomingReading, take_alert_sensors
from apps.telemetry.models import Alert, LatestValue, Rollup
from apps.telemetry.mqtt import IngestWorker
from apps.telemetry.tasks import telemetry_upkeep_task

pytestmark = pytest.mark.django_db
RULE = "PM2.5 above 25 µg/m³"  # a default rule (migration 0003): 15 minutes above 25


@pytest.fixture
def aq(db) -> Sensor:  # noqa: ANN001
    return Sensor.objects.create(
        code="up-aq-1", kind="air_quality", geom=Point(24.945, 60.169, srid=4326), source="test", source_id="up-aq-1"
    )


def polluted_minutes(code: str, *, pm2_5: float = 40.0, minutes: int = 17) -> list[dict[str, object]]:
    """One reading a minute for the last `minutes` minutes, each above the rule's threshold."""
    now = datetime.now(UTC)
    return [
        {"sensor": code, "time": (now - timedelta(minutes=m)).isoformat(), "values": {"pm2_5": pm2_5}}
        for m in range(minutes - 1, -1, -1)
    ]


def post(api_as, body: list[dict[str, object]]) -> dict[str, object]:  # noqa: ANN001
    service = create_user(username="up-ingest", password="x-long-password-1", role=Role.INGEST)
    response = api_as(service).post("/api/ingest/readings/", body, format="json")
    assert response.status_code == 200
    return response.json()


def test_http_ingest_answers_before_the_upkeep_and_the_beat_safety_net_does_it(api_as, aq) -> None:  # noqa: ANN001
    assert post(api_as, polluted_minutes("up-aq-1"))["stored"] == 17
    # Stored with its latest value in the request's transaction; folded and evaluated only by the upkeep.
    assert LatestValue.objects.get(sensor=aq, property="pm2_5").value == 40.0
    assert not Rollup.objects.filter(sensor=aq).exists()
    assert not Alert.objects.filter(sensor=aq).exists()

    telemetry_upkeep_task()  # what beat runs where no ingest worker does

    assert sum(r.n for r in Rollup.objects.filter(sensor=aq, resolution="1m", property="pm2_5")) == 17
    alert = Alert.objects.get(sensor=aq, property="pm2_5", resolved_at__isnull=True)
    assert alert.rule.name == RULE and alert.value == 40.0
    assert take_alert_sensors() == set()  # the upkeep took what the fold queued


def test_the_ingest_workers_maintenance_does_the_upkeep_of_http_ingest(api_as, aq) -> None:  # noqa: ANN001
    worker = IngestWorker("mqtt://127.0.0.1:1")  # never connected: only its maintenance step runs here
    post(api_as, polluted_minutes("up-aq-1"))

    worker._maintain()  # noqa: SLF001 - one turn of the maintenance thread: fold, then alerts

    assert sum(r.n for r in Rollup.objects.filter(sensor=aq, resolution="1h", property="pm2_5")) == 17
    assert Alert.objects.filter(sensor=aq, rule__name=RULE, resolved_at__isnull=True).count() == 1


def test_a_failed_alert_evaluation_queues_its_sensors_again(api_as, aq, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    post(api_as, polluted_minutes("up-aq-1"))
    services.fold_rollups()

    def broken(**kwargs: object) -> list[Alert]:
        raise RuntimeError("the rules could not be read")

    monkeypatch.setattr(services, "evaluate_alerts", broken)
    with pytest.raises(RuntimeError):
        services.evaluate_pending_alerts()
    monkeypatch.undo()

    assert services.evaluate_pending_alerts() and Alert.objects.filter(sensor=aq, rule__name=RULE).exists()


def test_ingest_readings_still_folds_and_evaluates_before_it_returns(aq) -> None:  # noqa: ANN001
    now = datetime.now(UTC)
    batch = [
        IncomingReading(source="http", sensor_code=None, payload=item, received_at=now)
        for item in polluted_minutes("up-aq-1")
    ]
    result = services.ingest_readings(batch, now=now)  # the demo feed's and the imports' path

    assert len(result.stored) == 17
    assert Rollup.objects.filter(sensor=aq, resolution="15m").exists()
    assert Alert.objects.filter(sensor=aq, rule__name=RULE, resolved_at__isnull=True).exists()
    assert take_alert_sensors() == set()  # evaluated here: nothing left for the worker
