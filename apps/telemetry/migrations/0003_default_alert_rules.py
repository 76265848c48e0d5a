from django.db import migrations

RULES = [
    ("PM2.5 above 25 µg/m³", "air_quality", "pm2_5", "above", 25.0, 900),
    ("NO₂ above 200 µg/m³", "air_quality", "no2", "above", 200.0, 900),
    ("Speed below 30 % of free flow", "traffic", "mean_speed_kmh", "below_free_flow", 0.3, 300),
]


def create(apps, schema_editor):
    AlertRule = apps.get_model("telemetry", "AlertRule")
    for name, kind, prop, comparison, threshold, duration in RULES:
        AlertRule.objects.get_or_create(
            name=name,
            defaults={"sensor_kind": kind, "property": prop, "comparison": comparison, "threshold": threshold, "duration_s": duration},
        )


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0002_reading_partitions")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
