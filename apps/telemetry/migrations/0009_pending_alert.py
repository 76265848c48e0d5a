"""telemetry_pending_alert: the sensors whose readings were folded into the rollups and whose alerts have not
been evaluated since.

HTTP ingest answers once its batch is committed: the fold and the alert evaluation happen afterwards, in the
MQTT ingest worker's maintenance thread (or the Celery beat safety net), whoever stored the readings. The
fold (apps/telemetry/ingest.py fold_rollups) adds the sensors it folded here, in its own transaction, so a
sensor is queued only once its readings are in the rollups the rules read, whichever process folded them;
evaluate_pending_alerts() (apps/telemetry/services.py) takes them with DELETE ... RETURNING. One row per
sensor however many readings: ON CONFLICT DO NOTHING. No Django model: only those two statements touch it."""

from django.db import migrations

FORWARD = """
CREATE TABLE telemetry_pending_alert (sensor_id bigint PRIMARY KEY)
WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);
"""


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0008_district_rollup_upkeep")]

    operations = [migrations.RunSQL(FORWARD, "DROP TABLE telemetry_pending_alert")]
