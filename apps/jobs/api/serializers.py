from rest_framework import serializers

from apps.jobs.models import Job

JOB_FIELDS: tuple[str, ...] = (
    "id",
    "kind",
    "owner",
    "state",
    "progress",
    "status_text",
    "error",
    "cancel_requested",
    "params",
    "result",
    "attempts",
    "created_at",
    "started_at",
    "finished_at",
)


class JobSerializer(serializers.ModelSerializer):
    owner = serializers.StringRelatedField(allow_null=True, help_text="The username; null once the account is gone.")

    class Meta:
        model = Job
        fields = JOB_FIELDS
        read_only_fields = fields


class JobDetailSerializer(JobSerializer):
    class Meta(JobSerializer.Meta):
        fields = (*JOB_FIELDS, "log")
        read_only_fields = fields
