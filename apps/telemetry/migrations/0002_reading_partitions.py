"""The readings table, partitioned by month on the device's time.

- BRIN on time: readings arrive roughly in time order, so a BRIN index is tiny and makes time-window
  scans cheap (the btree below is what idempotency costs; ../shared/BENCH.md measured both).
- UNIQUE (sensor_id, time): a reading delivered twice is stored once (INSERT ... ON CONFLICT DO NOTHING).
- A DEFAULT partition takes anything outside the monthly ones, so an insert never fails for lack of a
  partition; telemetry_ensure_partitions() creates the months around now (the ingest worker calls it)."""

from django.db import migrations

CREATE = """
CREATE TABLE telemetry_reading (
    sensor_id bigint NOT NULL,
    time timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    seq bigint,
    values jsonb NOT NULL
) PARTITION BY RANGE (time);
CREATE UNIQUE INDEX telemetry_reading_sensor_time ON telemetry_reading (sensor_id, time);
CREATE INDEX telemetry_reading_time_brin ON telemetry_reading USING brin (time) WITH (pages_per_range = 32);
CREATE TABLE telemetry_reading_default PARTITION OF telemetry_reading DEFAULT;

CREATE FUNCTION telemetry_ensure_partitions(around timestamptz, months_back int, months_ahead int)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', around - make_interval(months => months_back))::date;
    m date;
    made int := 0;
    name text;
BEGIN
    FOR i IN 0 .. months_back + months_ahead LOOP
        m := (first + make_interval(months => i))::date;
        name := format('telemetry_reading_%s', to_char(m, 'YYYYMM'));
        IF to_regclass(name) IS NULL THEN
            -- Rows already in the default partition for this month must move into the new one.
            EXECUTE format('CREATE TABLE %I (LIKE telemetry_reading INCLUDING DEFAULTS)', name);
            EXECUTE format(
                'WITH moved AS (DELETE FROM telemetry_reading_default WHERE time >= %L AND time < %L RETURNING *) '
                'INSERT INTO %I SELECT * FROM moved', m, (m + interval '1 month'), name);
            EXECUTE format('ALTER TABLE telemetry_reading ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           name, m, (m + interval '1 month')::date);
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END $$;

SELECT telemetry_ensure_partitions(now(), 1, 2);
"""

DROP = """
DROP FUNCTION IF EXISTS telemetry_ensure_partitions(timestamptz, int, int);
DROP TABLE IF EXISTS telemetry_reading CASCADE;
"""


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0001_initial")]
    operations = [migrations.RunSQL(CREATE, DROP)]
