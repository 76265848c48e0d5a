"""Keep telemetry_district_rollup equal to the 1 h rollups it sums, then fill it from the rollups already there.

The rule (the one district_hourly used as a join): a row (kind, property, hour, district) sums the 1 h
rollup rows of the ACTIVE sensors of that kind that the district covers (ST_Covers). Rows are never adjusted
by deltas: each is recomputed from telemetry_rollup, so min/max stay exact and a repeat is harmless.
- The fold (apps/telemetry/ingest.py) calls telemetry_district_rollup_refresh(sensors, hours) after it has
  upserted the rollups, in its transaction, with the sensors and hours it touched (late readings included).
- A sensor moved, re-kinded, (de)activated or deleted, or a district added, re-shaped or deleted, changes
  which rollups a row sums: statement triggers on sensors_sensor and districts_district recompute every hour
  of the (district, kind) pairs concerned, before and after the change. They are in the database because
  districts and sensors are written by the loader (set-based SQL), the admin and the API alike.
- Every recomputation takes the fold's advisory lock (ingest.FOLD_LOCK), so two of them never interleave
  their DELETE and INSERT. Deleting rollups (Django's CASCADE from a sensor, before the sensor row) takes it
  first too, so that a fold waiting on those rollup rows never holds the lock the sensor's trigger needs.
- telemetry_district_rollup_rebuild() recomputes everything (management command rebuild_district_rollups)."""

from django.db import migrations

FOLD_LOCK = 7_404_211  # apps.telemetry.ingest.FOLD_LOCK

FORWARD = f"""
CREATE FUNCTION telemetry_district_rollup_recompute(p_districts bigint[], p_kinds varchar[], p_hours timestamptz[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE written integer;
BEGIN
    PERFORM pg_advisory_xact_lock({FOLD_LOCK});
    DELETE FROM telemetry_district_rollup t
    USING unnest(p_districts, p_kinds) AS k(district_id, kind)
    WHERE t.district_id = k.district_id AND t.kind = k.kind AND (p_hours IS NULL OR t.bucket = ANY(p_hours));
    IF p_hours IS NULL THEN
        -- Every hour: each sensor's 1 h rows by the key's (sensor_id, resolution) prefix.
        INSERT INTO telemetry_district_rollup (kind, property, bucket, district_id, n, total, minimum, maximum, sensors)
        SELECT k.kind, r.property, r.bucket, k.district_id,
               sum(r.n), sum(r.total), min(r.minimum), max(r.maximum), count(*)
        FROM unnest(p_districts, p_kinds) AS k(district_id, kind)
        JOIN districts_district d ON d.id = k.district_id
        JOIN sensors_sensor s ON s.kind = k.kind AND s.active AND ST_Covers(d.geom, s.geom)
        JOIN telemetry_rollup r ON r.sensor_id = s.id AND r.resolution = '1h'
        GROUP BY 1, 2, 3, 4;
    ELSE
        -- A few hours (a fold): every sensor's rows of those hours by (resolution, bucket), read first;
        -- by sensor, each sensor's whole 1 h history would be scanned for them.
        INSERT INTO telemetry_district_rollup (kind, property, bucket, district_id, n, total, minimum, maximum, sensors)
        WITH hour_rows AS MATERIALIZED (
            SELECT r.sensor_id, r.property, r.bucket, r.n, r.total, r.minimum, r.maximum
            FROM telemetry_rollup r WHERE r.resolution = '1h' AND r.bucket = ANY(p_hours)
        ),
        members AS MATERIALIZED (
            SELECT k.district_id, k.kind, s.id AS sensor_id
            FROM unnest(p_districts, p_kinds) AS k(district_id, kind)
            JOIN districts_district d ON d.id = k.district_id
            JOIN sensors_sensor s ON s.kind = k.kind AND s.active AND ST_Covers(d.geom, s.geom)
        )
        SELECT m.kind, h.property, h.bucket, m.district_id,
               sum(h.n), sum(h.total), min(h.minimum), max(h.maximum), count(*)
        FROM members m JOIN hour_rows h ON h.sensor_id = m.sensor_id
        GROUP BY 1, 2, 3, 4;
    END IF;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END $$;

-- The fold's call: the (district, kind) pairs of the districts covering these sensors, in these hours.
CREATE FUNCTION telemetry_district_rollup_refresh(p_sensors bigint[], p_hours timestamptz[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE ds bigint[]; ks varchar[];
BEGIN
    IF coalesce(cardinality(p_hours), 0) = 0 THEN
        RETURN 0;  -- no hours: nothing (to recompute), never every hour
    END IF;
    SELECT array_agg(p.district_id), array_agg(p.kind) INTO ds, ks
    FROM (SELECT DISTINCT d.id AS district_id, s.kind
          FROM sensors_sensor s JOIN districts_district d ON ST_Covers(d.geom, s.geom)
          WHERE s.id = ANY(p_sensors)) p;
    IF ds IS NULL THEN
        RETURN 0;
    END IF;
    RETURN telemetry_district_rollup_recompute(ds, ks, p_hours);
END $$;

CREATE FUNCTION telemetry_district_rollup_rebuild() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE written integer;
BEGIN
    PERFORM pg_advisory_xact_lock({FOLD_LOCK});
    DELETE FROM telemetry_district_rollup;
    INSERT INTO telemetry_district_rollup (kind, property, bucket, district_id, n, total, minimum, maximum, sensors)
    SELECT s.kind, r.property, r.bucket, d.id, sum(r.n), sum(r.total), min(r.minimum), max(r.maximum), count(*)
    FROM telemetry_rollup r
    JOIN sensors_sensor s ON s.id = r.sensor_id AND s.active
    JOIN districts_district d ON ST_Covers(d.geom, s.geom)
    WHERE r.resolution = '1h'
    GROUP BY 1, 2, 3, 4;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END $$;

-- Sensors: the pairs of the old and the new state of every sensor whose place, kind or activity changed.
CREATE FUNCTION telemetry_district_rollup_sensors_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ds bigint[]; ks varchar[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(p.district_id), array_agg(p.kind) INTO ds, ks
        FROM (SELECT DISTINCT d.id AS district_id, x.kind
              FROM (SELECT o.geom, o.kind FROM old_rows o JOIN new_rows n ON n.id = o.id
                    WHERE (o.geom, o.kind, o.active) IS DISTINCT FROM (n.geom, n.kind, n.active)
                    UNION ALL
                    SELECT n.geom, n.kind FROM old_rows o JOIN new_rows n ON n.id = o.id
                    WHERE (o.geom, o.kind, o.active) IS DISTINCT FROM (n.geom, n.kind, n.active)) x
              JOIN districts_district d ON ST_Covers(d.geom, x.geom)) p;
    ELSE  -- DELETE
        SELECT array_agg(p.district_id), array_agg(p.kind) INTO ds, ks
        FROM (SELECT DISTINCT d.id AS district_id, o.kind
              FROM old_rows o JOIN districts_district d ON ST_Covers(d.geom, o.geom)) p;
    END IF;
    IF ds IS NOT NULL THEN
        PERFORM telemetry_district_rollup_recompute(ds, ks, NULL);
    END IF;
    RETURN NULL;
END $$;

-- Districts: every kind of every district added, re-shaped or deleted (a deleted one has no sensors left).
CREATE FUNCTION telemetry_district_rollup_districts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids bigint[]; ds bigint[]; ks varchar[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.id) INTO ids FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(n.id) INTO ids FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE o.geom IS DISTINCT FROM n.geom;  -- exact (PostGIS =), and no GEOS call on invalid shapes
    ELSE
        SELECT array_agg(o.id) INTO ids FROM old_rows o;
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(i), array_agg(k) INTO ds, ks
    FROM unnest(ids) AS i
    CROSS JOIN (SELECT DISTINCT kind FROM sensors_sensor
                UNION SELECT DISTINCT kind FROM telemetry_district_rollup WHERE district_id = ANY(ids)) AS kinds(k);
    IF ds IS NOT NULL THEN
        PERFORM telemetry_district_rollup_recompute(ds, ks, NULL);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION telemetry_fold_lock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({FOLD_LOCK});
    RETURN NULL;
END $$;

CREATE TRIGGER district_rollup_sensors_updated AFTER UPDATE ON sensors_sensor
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION telemetry_district_rollup_sensors_changed();
CREATE TRIGGER district_rollup_sensors_deleted AFTER DELETE ON sensors_sensor
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION telemetry_district_rollup_sensors_changed();
CREATE TRIGGER district_rollup_districts_inserted AFTER INSERT ON districts_district
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION telemetry_district_rollup_districts_changed();
CREATE TRIGGER district_rollup_districts_updated AFTER UPDATE ON districts_district
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION telemetry_district_rollup_districts_changed();
CREATE TRIGGER district_rollup_districts_deleted AFTER DELETE ON districts_district
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION telemetry_district_rollup_districts_changed();
CREATE TRIGGER rollup_delete_takes_fold_lock BEFORE DELETE ON telemetry_rollup
    FOR EACH STATEMENT EXECUTE FUNCTION telemetry_fold_lock();

SELECT telemetry_district_rollup_rebuild();
"""

BACKWARD = """
DROP TRIGGER rollup_delete_takes_fold_lock ON telemetry_rollup;
DROP TRIGGER district_rollup_districts_deleted ON districts_district;
DROP TRIGGER district_rollup_districts_updated ON districts_district;
DROP TRIGGER district_rollup_districts_inserted ON districts_district;
DROP TRIGGER district_rollup_sensors_deleted ON sensors_sensor;
DROP TRIGGER district_rollup_sensors_updated ON sensors_sensor;
DROP FUNCTION telemetry_fold_lock();
DROP FUNCTION telemetry_district_rollup_districts_changed();
DROP FUNCTION telemetry_district_rollup_sensors_changed();
DROP FUNCTION telemetry_district_rollup_rebuild();
DROP FUNCTION telemetry_district_rollup_refresh(bigint[], timestamptz[]);
DROP FUNCTION telemetry_district_rollup_recompute(bigint[], varchar[], timestamptz[]);
"""


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0007_district_rollup"), ("sensors", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
