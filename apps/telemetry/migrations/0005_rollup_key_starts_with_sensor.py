"""telemetry_rollup's primary key starts with sensor_id: (sensor_id, resolution, property, bucket).

Migration 0004 dropped the separate sensor_id index; with the key starting with `resolution`, deleting a
sensor's rollups (Django's CASCADE, the benchmarks' clean-up) scanned the whole table: 7 minutes at 22.5M rows
(bench/bench_ingest.py). Every query of ours filters on the sensor, resolution, property and a bucket range, or
on resolution and bucket (rollup_resolution_bucket), and ON CONFLICT matches the key by its columns, not
their order, so nothing else changes. The key is rebuilt in place (one index build)."""

from django.db import migrations, models

FORWARD = (
    "ALTER TABLE telemetry_rollup DROP CONSTRAINT telemetry_rollup_pkey, "
    "ADD CONSTRAINT telemetry_rollup_pkey PRIMARY KEY (sensor_id, resolution, property, bucket)"
)
BACKWARD = (
    "ALTER TABLE telemetry_rollup DROP CONSTRAINT telemetry_rollup_pkey, "
    "ADD CONSTRAINT telemetry_rollup_pkey PRIMARY KEY (resolution, sensor_id, property, bucket)"
)


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0004_rollup_latest_for_updates")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
            state_operations=[
                migrations.AlterField(
                    model_name="rollup",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "sensor",
                        "resolution",
                        "property",
                        "bucket",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
            ],
        ),
    ]
