"""telemetry_pending_rollup: the readings an ingest transaction stored, waiting to be folded into the rollups.

Upserting the 1 min / 15 min / 1 h rollups inside every ingest transaction was 70 % of its time (9,000 row
upserts per 2,000 readings, bench/bench_ingest.py). Ingest now appends the readings it inserted to this table
(a heap without indexes: as cheap as the reading itself) in the same transaction, and fold_rollups()
(apps/telemetry/ingest.py) moves them into the rollups in one statement: DELETE ... RETURNING, aggregated, upserted,
committed together, so every reading is counted exactly once, and a reading waits here at most a second or so.
No Django model: only those two statements touch it."""

from django.db import migrations

FORWARD = """
CREATE TABLE telemetry_pending_rollup (
    sensor_id bigint NOT NULL,
    time timestamptz NOT NULL,
    values jsonb NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
"""


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0005_rollup_key_starts_with_sensor")]

    operations = [migrations.RunSQL(FORWARD, "DROP TABLE telemetry_pending_rollup")]
