"""Telemetry storage.

- `telemetry_reading` (model Reading, unmanaged: created by migration 0001 as a table PARTITIONED BY RANGE
  (time), monthly partitions plus a default one, a BRIN index on time and a unique index on (sensor, time)
  that makes ingest idempotent). One row per reading: its properties in `values`.
- LatestValue: the newest value of each (sensor, property).
- Rollup: per (resolution, sensor, property, bucket) the count, sum, min and max, folded in from the
  readings ingest queues in telemetry_pending_rollup (ingest.fold_rollups, migration 0006); mean = sum / count.
  Both are updated by every ingest batch, so they are tuned for updates (migration 0004): fillfactor 70 /
  50 so that an update fits on its page (a HOT update, no index entries), no FK constraint, no extra
  sensor_id index.
- DistrictRollup: the 1 h rollups summed per district, sensor kind and property (district_rollups.py says
  how it is kept equal to the per-sensor rows it summarises); what the per-district queries read.
- QuarantinedReading: what the quality gate refused, with a reason code.
- AlertRule / Alert / AlertEvent: thresholds and anomalies, and who acknowledged what (audit)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Reading(models.Model):
    pk = models.CompositePrimaryKey("sensor", "time")
    sensor = models.ForeignKey("sensors.Sensor", on_delete=models.DO_NOTHING, db_constraint=False)
    time = models.DateTimeField()
    received_at = models.DateTimeField()
    seq = models.BigIntegerField(null=True)
    values = models.JSONField()

    class Meta:
        managed = False
        db_table = "telemetry_reading"

    def __str__(self) -> str:
        return f"{self.sensor_id} @ {self.time:%Y-%m-%d %H:%M:%S}"


class Resolution(models.TextChoices):
    MINUTE = "1m", "1 minute"
    QUARTER = "15m", "15 minutes"
    HOUR = "1h", "1 hour"


RESOLUTION_SECONDS: dict[str, int] = {Resolution.MINUTE: 60, Resolution.QUARTER: 900, Resolution.HOUR: 3600}


class LatestValue(models.Model):
    pk = models.CompositePrimaryKey("sensor", "property")
    # No database FK and no index of its own (see Rollup): Django still deletes these rows with the sensor.
    sensor = models.ForeignKey(
        "sensors.Sensor",
        on_delete=models.CASCADE,
        related_name="latest_values",
        db_constraint=False,
        db_index=False,
    )
    property = models.CharField(max_length=32)
    time = models.DateTimeField()
    value = models.FloatField()
    received_at = models.DateTimeField()

    class Meta:
        db_table = "telemetry_latest"

    def __str__(self) -> str:
        return f"{self.sensor_id} {self.property} = {self.value:g}"


class Rollup(models.Model):
    pk = models.CompositePrimaryKey("sensor", "resolution", "property", "bucket")
    resolution = models.CharField(max_length=4, choices=Resolution.choices)
    # No database FK: its deferred check ran once per upserted row at every ingest commit, for sensors ingest
    # has just looked up. Django's CASCADE still deletes a sensor's rollups (tests/test_ingest.py). No
    # index on sensor_id either: every write paid for it; the primary key starts with the sensor (0005).
    sensor = models.ForeignKey(
        "sensors.Sensor", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    property = models.CharField(max_length=32)
    bucket = models.DateTimeField()
    n = models.IntegerField()
    total = models.FloatField()
    minimum = models.FloatField()
    maximum = models.FloatField()

    class Meta:
        db_table = "telemetry_rollup"
        indexes = [models.Index(fields=["resolution", "bucket"], name="rollup_resolution_bucket")]

    def __str__(self) -> str:
        return f"{self.resolution} {self.sensor_id} {self.property} {self.bucket:%Y-%m-%d %H:%M}"


class DistrictRollup(models.Model):
    """Per (sensor kind, property, hour, district): the sums over the 1 h Rollup rows of the active sensors
    of that kind the district covers (ST_Covers: a sensor on a border counts in both districts). n and total
    add up the sensors' n and total, so a mean over districts or kinds is sum(total) / sum(n), weighted by
    readings as the per-sensor query was; `sensors` is how many sensors have a row in that hour."""

    pk = models.CompositePrimaryKey("kind", "property", "bucket", "district")
    kind = models.CharField(max_length=16)
    property = models.CharField(max_length=32)
    bucket = models.DateTimeField()
    # No database FK: rows are recomputed, never cascaded (a deleted district's rows go with its trigger).
    district = models.ForeignKey(
        "districts.District", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    n = models.BigIntegerField()
    total = models.FloatField()
    minimum = models.FloatField()
    maximum = models.FloatField()
    sensors = models.IntegerField()

    class Meta:
        db_table = "telemetry_district_rollup"
        indexes = [models.Index(fields=["district", "kind", "bucket"], name="district_rollup_refresh")]

    def __str__(self) -> str:
        return f"{self.kind} {self.property} {self.bucket:%Y-%m-%d %H:%M} district {self.district_id}"


class QuarantineReason(models.TextChoices):
    MALFORMED = "malformed", "Malformed message"
    TOO_LARGE = "too_large", "Message too large"
    UNKNOWN_SENSOR = "unknown_sensor", "Unknown sensor"
    INACTIVE_SENSOR = "inactive_sensor", "Inactive sensor"
    FORBIDDEN_SENSOR = "forbidden_sensor", "Device may not publish for this sensor"
    BAD_TIME = "bad_time", "Missing or invalid time"
    FUTURE_TIME = "future_time", "Time too far in the future"
    TOO_OLD = "too_old", "Time too far in the past"
    NO_VALUES = "no_values", "No values"
    UNKNOWN_PROPERTY = "unknown_property", "Unknown property"
    WRONG_TYPE = "wrong_type", "Value is not a number"
    NOT_FINITE = "not_finite", "Value is NaN or infinite"
    OUT_OF_RANGE = "out_of_range", "Value outside the physical range"
    RATE_OF_CHANGE = "rate_of_change", "Impossible rate of change"
    DUPLICATE = "duplicate", "Duplicate reading"


class QuarantinedReading(models.Model):
    received_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=8)  # mqtt | http
    sensor_code = models.CharField(max_length=64, blank=True, db_index=True)
    reading_time = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=24, choices=QuarantineReason.choices, db_index=True)
    detail = models.TextField()
    payload = models.TextField(help_text="The message as received (truncated to 4 KB).")

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.sensor_code or '?'}: {self.reason}"


class Comparison(models.TextChoices):
    ABOVE = "above", "above"
    BELOW = "below", "below"
    BELOW_FREE_FLOW = "below_free_flow", "below a share of free-flow speed"


class AlertRule(models.Model):
    name = models.CharField(max_length=120)
    sensor_kind = models.CharField(max_length=16)
    property = models.CharField(max_length=32)
    comparison = models.CharField(max_length=16, choices=Comparison.choices)
    threshold = models.FloatField(help_text="A value, or for below_free_flow a share (0.3 = 30 %).")
    duration_s = models.PositiveIntegerField(default=900, help_text="The condition must hold this long.")
    enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class AlertKind(models.TextChoices):
    THRESHOLD = "threshold", "Threshold"
    ANOMALY = "anomaly", "Anomaly"


class Alert(models.Model):
    kind = models.CharField(max_length=12, choices=AlertKind.choices)
    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL)
    sensor = models.ForeignKey("sensors.Sensor", on_delete=models.CASCADE, related_name="alerts")
    property = models.CharField(max_length=32)
    value = models.FloatField()
    message = models.CharField(max_length=255)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # At most one open alert per sensor, property and cause.
            models.UniqueConstraint(
                fields=["sensor", "property", "kind", "rule"],
                condition=models.Q(resolved_at__isnull=True),
                name="one_open_alert",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return self.message


class AlertEvent(models.Model):
    """The audit trail of an alert: opened, acknowledged (by whom, with a note), resolved."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    action = models.CharField(max_length=16)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.action} at {self.at:%Y-%m-%d %H:%M:%S}"
