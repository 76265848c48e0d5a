"""Telemetry actions: ingest a batch (then publish, after the commit), keep the rollups and alerts up to
date behind it (the upkeep), acknowledge an alert. Views, the MQTT worker and the demo feed call these;
nothing else writes telemetry."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.accounts.models import Role
from apps.accounts.permissions import role_of
from apps.streaming.publish import publish

from .catalog import HEADLINE
from .ingest import (
    IncomingReading,
    IngestResult,
    StoredReading,
    fold_rollups,
    ingest,
    queue_alert_sensors,
    take_alert_sensors,
)
from .models import Alert, AlertEvent, AlertKind, AlertRule, Comparison
from .selectors import alert_item
from .topics import ALERTS_GROUP, READINGS_GROUP

log = logging.getLogger(__name__)
DEFAULT_FREE_FLOW_KMH = 50.0
ANOMALY_Z = 3.0
ANOMALY_MIN_DAYS = 3
ANOMALY_DAYS = 14


def reading_item(r: StoredReading) -> dict[str, Any]:
    return {
        "sensor": r.code,
        "kind": r.kind,
        "lon": r.lon,
        "lat": r.lat,
        "time": r.time.isoformat(),
        "values": r.values,
    }


def ingest_readings(
    batch: Sequence[IncomingReading], *, now: datetime | None = None, evaluate: bool = True
) -> IngestResult:
    """Store a batch (ingest() commits), fold it into the rollups, stream what was stored and evaluate alerts
    for its sensors (and any others the fold queued), all before returning: for the demo feed and imports,
    whose readings are in the rollups and alerts when this returns. HTTP ingest does not wait for the fold
    and the alerts (ingest_http_items())."""
    result = ingest(batch, now=now)
    if result.stored:
        fold_rollups(wait=True)
    after_ingest(result)
    if evaluate and result.stored:
        try:
            evaluate_pending_alerts(also={r.sensor_id for r in result.stored})
        except Exception:  # noqa: BLE001 - alerting must not stop ingest
            log.exception("alert evaluation failed")
    return result


def ingest_http_items(items: Sequence[object], *, user: Any, now: datetime | None = None) -> IngestResult:
    """HTTP ingest: `items` as parsed from the request body (apps/telemetry/api/parsers.py), each naming its
    sensor. An ingest account may post for any sensor; a device account (username = sensor code) only for
    its own. Answers once the batch is committed (its latest values included): the rollups and the alerts
    follow within a few seconds, done by the upkeep (fold_rollups(), evaluate_pending_alerts()) in the MQTT
    ingest worker or the Celery beat safety net; folding and evaluating in the request was two thirds of it."""
    now = now or timezone.now()
    allowed = frozenset({user.username}) if role_of(user) == Role.DEVICE else None
    batch = [
        IncomingReading(source="http", sensor_code=None, payload=item, received_at=now, allowed_codes=allowed)
        for item in items
    ]
    result = ingest(batch, now=now)
    after_ingest(result)
    return result


def after_ingest(result: IngestResult) -> None:
    """What follows a committed batch at once: stream the newest reading per sensor. Best-effort: a failure
    here never loses a stored reading (browsers resync)."""
    if result.stored:
        # Only the newest reading per sensor matters to a live map.
        newest: dict[str, StoredReading] = {}
        for r in result.stored:
            if r.code not in newest or r.time > newest[r.code].time:
                newest[r.code] = r
        try:
            publish(READINGS_GROUP, "readings", [reading_item(r) for r in newest.values()])
        except Exception:  # noqa: BLE001 - Redis down: browsers resync later; the data is safe
            log.warning("could not publish %d readings", len(newest), exc_info=True)


def evaluate_pending_alerts(*, also: set[int] | None = None, now: datetime | None = None) -> list[Alert]:
    """Evaluate alerts for the sensors the fold queued since the last evaluation (whoever stored and folded
    their readings), plus `also`. If the evaluation fails, the sensors are queued again (then it raises)."""
    ids = take_alert_sensors() | (also or set())
    if not ids:
        return []
    try:
        return evaluate_alerts(sensor_ids=ids, now=now)
    except Exception:
        try:
            queue_alert_sensors(ids)
        except Exception:  # noqa: BLE001 - the database is gone: evaluated again with their next readings
            log.warning("could not queue %d sensors for the alerts again", len(ids), exc_info=True)
        raise


def telemetry_upkeep() -> tuple[int | None, int]:
    """Fold what is queued and evaluate the alerts it queued: (rollup rows written, None if another process
    was folding; alerts opened or resolved). The MQTT worker does this every second or so; the Celery beat
    safety net (tasks.py) calls it for deployments or outages without a worker."""
    written = fold_rollups()
    return written, len(evaluate_pending_alerts())


# --- alerts -------------------------------------------------------------------------------------------

# Each sensor's newest minute comes from telemetry_latest (one row per sensor and property), and only the
# rule's window of 1 min rollups is read, one primary-key range per sensor. (Finding the newest bucket in
# the rollups themselves read 8 days of 1 min rows per sensor: 23 s for 1,000 sensors with history,
# bench/bench_rollup.py.) A sensor silent for more than `since` is not evaluated.
_RULE_WINDOW_SQL = """
WITH newest AS (
    SELECT l.sensor_id, date_bin('1 minute', l.time, '1970-01-01 00:00:00+00') AS newest
    FROM telemetry_latest l
    WHERE l.property = %(property)s AND l.sensor_id = ANY(%(ids)s) AND l.time >= %(since)s
),
recent AS (
    SELECT nw.sensor_id, w.bucket, w.mean
    FROM newest nw
    CROSS JOIN LATERAL (
        SELECT r.bucket, r.total / r.n AS mean FROM telemetry_rollup r
        WHERE r.sensor_id = nw.sensor_id AND r.resolution = '1m' AND r.property = %(property)s
          AND r.bucket > nw.newest - make_interval(secs => %(duration)s) AND r.bucket <= nw.newest
        OFFSET 0  -- keep it a per-sensor index range: joined flat, the planner scanned the whole table
    ) w
)
SELECT rc.sensor_id, count(*), avg(rc.mean), bool_and(
           CASE %(comparison)s
               WHEN 'above' THEN rc.mean > %(threshold)s
               WHEN 'below' THEN rc.mean < %(threshold)s
               ELSE rc.mean < %(threshold)s * coalesce(seg.maxspeed_kmh, %(free_flow)s)
           END),
       max(coalesce(seg.maxspeed_kmh, %(free_flow)s))
FROM recent rc
JOIN sensors_sensor s ON s.id = rc.sensor_id
LEFT JOIN roads_roadsegment seg ON seg.id = s.road_segment_id
GROUP BY rc.sensor_id
"""

# The newest 15 min bucket of each sensor (one backward index probe each), against the same hour of each of
# the previous `days` days (one probe per day): a z-score of the current mean.
_ANOMALY_SQL = """
WITH cur AS (
    SELECT ids.sensor_id, c.bucket, c.mean
    FROM unnest(%(ids)s::bigint[]) AS ids(sensor_id)
    CROSS JOIN LATERAL (
        SELECT r.bucket, r.total / r.n AS mean FROM telemetry_rollup r
        WHERE r.sensor_id = ids.sensor_id AND r.resolution = '15m' AND r.property = %(property)s
        ORDER BY r.bucket DESC LIMIT 1
    ) c
),
hist AS (
    SELECT c.sensor_id, avg(h.total / h.n) AS mu, stddev_samp(h.total / h.n) AS sigma, count(*) AS days
    FROM cur c
    CROSS JOIN generate_series(1, %(days)s) AS d(k)
    JOIN telemetry_rollup h
      ON h.sensor_id = c.sensor_id AND h.resolution = '1h' AND h.property = %(property)s
     AND h.bucket = date_trunc('hour', c.bucket) - make_interval(days => d.k)
    GROUP BY c.sensor_id
)
SELECT c.sensor_id, c.mean, h.mu, h.sigma, h.days FROM cur c JOIN hist h USING (sensor_id)
"""


def _open(
    *, kind: str, rule: AlertRule | None, sensor_id: int, prop: str, value: float, message: str, now: datetime
) -> Alert | None:
    existing = Alert.objects.filter(
        sensor_id=sensor_id, property=prop, kind=kind, rule=rule, resolved_at__isnull=True
    ).first()
    if existing is not None:
        existing.last_seen_at, existing.value = now, value
        existing.save(update_fields=["last_seen_at", "value"])
        return None
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                kind=kind,
                rule=rule,
                sensor_id=sensor_id,
                property=prop,
                value=value,
                message=message,
                started_at=now,
                last_seen_at=now,
            )
            AlertEvent.objects.create(alert=alert, at=now, action="opened", note=message)
    except IntegrityError:  # another process opened it first
        return None
    return alert


def _resolve(queryset: Any, now: datetime) -> list[Alert]:
    resolved = []
    for alert in queryset.filter(resolved_at__isnull=True):
        alert.resolved_at = now
        alert.save(update_fields=["resolved_at"])
        AlertEvent.objects.create(alert=alert, at=now, action="resolved")
        resolved.append(alert)
    return resolved


def evaluate_alerts(*, sensor_ids: set[int], now: datetime | None = None) -> list[Alert]:
    """Threshold rules over the 1-minute rollups and the statistical anomaly flag over 15-minute vs hourly
    rollups, for these sensors. Opens and resolves alerts; publishes the changes after the commit."""
    now = now or timezone.now()
    ids = sorted(sensor_ids)
    changed: list[Alert] = []
    if not ids:
        return changed
    with transaction.atomic():
        # Which of these sensors have open alerts at all: only those can be resolved (one query, not one
        # per sensor and rule).
        open_keys = set(
            Alert.objects.filter(resolved_at__isnull=True, sensor_id__in=ids).values_list(
                "sensor_id", "kind", "rule_id", "property"
            )
        )
        for rule in AlertRule.objects.filter(enabled=True):
            with connection.cursor() as cursor:
                cursor.execute(
                    _RULE_WINDOW_SQL,
                    {
                        "property": rule.property,
                        "ids": ids,
                        "since": now - timedelta(seconds=rule.duration_s + 3600 * 24 * 8),
                        "comparison": rule.comparison,
                        "threshold": rule.threshold,
                        "free_flow": DEFAULT_FREE_FLOW_KMH,
                        "duration": rule.duration_s,
                    },
                )
                rows = cursor.fetchall()
            needed = max(1, math.floor(rule.duration_s / 60 * 0.8))  # 80 % of the window's minutes reported
            for sensor_id, buckets, mean, holds, free_flow in rows:
                if holds and buckets >= needed:
                    if rule.comparison == Comparison.BELOW_FREE_FLOW:
                        what = f"{mean:.0f} km/h, below {rule.threshold:.0%} of free flow ({free_flow:.0f} km/h)"
                    else:
                        what = f"{mean:.1f}, {rule.comparison} {rule.threshold:g}"
                    alert = _open(
                        kind=AlertKind.THRESHOLD,
                        rule=rule,
                        sensor_id=sensor_id,
                        prop=rule.property,
                        value=mean,
                        message=f"{rule.name}: {what} for {rule.duration_s // 60} min",
                        now=now,
                    )
                    if alert:
                        changed.append(alert)
                elif not holds and (sensor_id, AlertKind.THRESHOLD, rule.pk, rule.property) in open_keys:
                    changed += _resolve(
                        Alert.objects.filter(sensor_id=sensor_id, rule=rule, kind=AlertKind.THRESHOLD), now
                    )
        for prop in HEADLINE.values():
            with connection.cursor() as cursor:
                cursor.execute(_ANOMALY_SQL, {"property": prop, "ids": ids, "days": ANOMALY_DAYS})
                rows = cursor.fetchall()
            for sensor_id, mean, mu, sigma, days in rows:
                if days < ANOMALY_MIN_DAYS or not sigma:
                    continue
                z = (mean - mu) / sigma
                if abs(z) >= ANOMALY_Z:
                    alert = _open(
                        kind=AlertKind.ANOMALY,
                        rule=None,
                        sensor_id=sensor_id,
                        prop=prop,
                        value=mean,
                        message=f"{prop} {mean:.1f} is unusual for this hour (z = {z:+.1f} against {days} days)",
                        now=now,
                    )
                    if alert:
                        changed.append(alert)
                elif (sensor_id, AlertKind.ANOMALY, None, prop) in open_keys:
                    anomalies = Alert.objects.filter(sensor_id=sensor_id, property=prop, kind=AlertKind.ANOMALY)
                    changed += _resolve(anomalies, now)
        if changed:
            items = [
                alert_item(Alert.objects.select_related("sensor", "acknowledged_by").get(pk=a.pk)) for a in changed
            ]
            transaction.on_commit(lambda: publish(ALERTS_GROUP, "alerts", items))
    return changed


@transaction.atomic
def acknowledge_alert(*, alert: Alert, user: Any, note: str = "") -> Alert:
    """An operator takes responsibility for an alert; recorded in its audit trail."""
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = user, timezone.now()
        alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
    AlertEvent.objects.create(alert=alert, at=timezone.now(), action="acknowledged", user=user, note=note[:2000])
    item = alert_item(Alert.objects.select_related("sensor", "acknowledged_by").get(pk=alert.pk))
    transaction.on_commit(lambda: publish(ALERTS_GROUP, "alerts", [item]))
    return alert
