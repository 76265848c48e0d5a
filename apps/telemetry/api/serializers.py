"""What the telemetry selectors return (latest_of, series) for a sensor's readings endpoints."""

from rest_framework import serializers


class LatestValueSerializer(serializers.Serializer):
    value = serializers.FloatField()
    unit = serializers.CharField(allow_blank=True)
    time = serializers.DateTimeField(help_text="The device's time of the reading.")
    received_at = serializers.DateTimeField()


class SensorLatestSerializer(serializers.Serializer):
    sensor = serializers.CharField(help_text="The sensor's code.")
    kind = serializers.CharField()
    values = serializers.DictField(child=LatestValueSerializer(), help_text="Property name -> its latest value.")


class SeriesPointSerializer(serializers.Serializer):
    time = serializers.DateTimeField(help_text="The reading's time, or its bucket's start.")
    values = serializers.DictField(child=serializers.FloatField())
    min = serializers.DictField(child=serializers.FloatField(), required=False, help_text="Aggregated only.")
    max = serializers.DictField(child=serializers.FloatField(), required=False, help_text="Aggregated only.")
    count = serializers.DictField(child=serializers.IntegerField(), required=False, help_text="Aggregated only.")


class SensorSeriesSerializer(serializers.Serializer):
    sensor = serializers.CharField(help_text="The sensor's code.")
    kind = serializers.CharField()
    resolution = serializers.ChoiceField(choices=["raw", "1m", "15m", "1h"])
    bucket_seconds = serializers.IntegerField(allow_null=True, help_text="null for raw readings.")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    units = serializers.DictField(child=serializers.CharField(allow_blank=True))
    aggregation = serializers.DictField(child=serializers.ChoiceField(choices=["sum", "mean"]))
    truncated = serializers.BooleanField(help_text="True if the window held more points than one answer carries.")
    points = SeriesPointSerializer(many=True)
