from rest_framework import serializers

from apps.imports.models import ImportRun


class ImportRunSerializer(serializers.ModelSerializer):
    created_by = serializers.StringRelatedField(allow_null=True, help_text="The username; null for the CLI.")

    class Meta:
        model = ImportRun
        fields = (
            "id",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "state",
            "dry_run",
            "source_name",
            "source_sha256",
            "source_size",
            "options",
            "counts",
            "errors",
            "progress",
            "message",
        )
        read_only_fields = fields
