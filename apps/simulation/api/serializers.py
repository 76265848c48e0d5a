"""Scenarios and runs over the API. The scenario document is validated by apps.simulation.documents (the
same rules for the API, the pages and run_scenario)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import RunState, Scenario, ScenarioRun
from ..results import interval_list
from ..selectors import describe_changes


class ScenarioSerializer(serializers.ModelSerializer):
    owner = serializers.StringRelatedField(allow_null=True)
    network = serializers.CharField(read_only=True)
    changes = serializers.SerializerMethodField(help_text="What changed against the base, in words.")
    locked = serializers.SerializerMethodField(help_text="It has runs: saving it makes a new version.")
    runs = serializers.SerializerMethodField()

    class Meta:
        model = Scenario
        fields = ("id", "name", "version", "lineage", "parent", "base", "owner", "network", "document",
                  "changes", "locked", "runs", "created_at")  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_changes(self, obj: Scenario) -> list[str]:
        return describe_changes(obj.document, obj.base.document if obj.base else None)

    def get_locked(self, obj: Scenario) -> bool:
        count = getattr(obj, "run_count", None)
        return bool(count) if count is not None else obj.runs.exists()

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_runs(self, obj: Scenario) -> list[dict[str, Any]]:
        return [
            {"id": r.pk, "state": r.state, "created_at": r.created_at} for r in obj.runs.order_by("-created_at")[:20]
        ]


class SeedSerializer(serializers.Serializer):
    seed = serializers.IntegerField()
    job = serializers.IntegerField()
    state = serializers.CharField()
    progress = serializers.FloatField()
    status_text = serializers.CharField()


class RunSerializer(serializers.ModelSerializer):
    scenario_name = serializers.CharField(source="scenario.name", read_only=True)
    progress = serializers.SerializerMethodField(help_text="Percent done over all seeds, 0-100.")
    seeds = serializers.SerializerMethodField()
    intervals = serializers.SerializerMethodField(help_text="[[begin, end], ...] in seconds of the day.")
    base_runs = serializers.SerializerMethodField(help_text="Finished runs of the scenario's base, newest first.")

    class Meta:
        model = ScenarioRun
        fields = ("id", "scenario", "scenario_name", "state", "progress", "error", "kpis", "calibration", "grid", "seeds",
                  "intervals", "network", "network_hash", "base_runs", "document", "created_at", "finished_at")  # fmt: skip
        read_only_fields = fields

    def _seeds(self, obj: ScenarioRun) -> list[dict[str, Any]]:
        return [
            {
                "seed": s.seed,
                "job": s.job_id,
                "state": s.job.state,
                "progress": s.job.progress,
                "status_text": s.job.status_text,
            }  # fmt: skip
            for s in obj.seed_runs.select_related("job").order_by("seed")
        ]

    def get_progress(self, obj: ScenarioRun) -> float:
        if obj.state == RunState.SUCCEEDED:
            return 100.0
        seeds = self._seeds(obj)
        return round(sum(s["progress"] for s in seeds) / max(len(seeds), 1), 1)

    @extend_schema_field(SeedSerializer(many=True))
    def get_seeds(self, obj: ScenarioRun) -> list[dict[str, Any]]:
        return self._seeds(obj)

    @extend_schema_field(serializers.ListField(child=serializers.ListField(child=serializers.IntegerField())))
    def get_intervals(self, obj: ScenarioRun) -> list[list[int]]:
        return interval_list(obj)

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_base_runs(self, obj: ScenarioRun) -> list[int]:
        base = obj.scenario.base_id
        if base is None:
            return []
        return list(
            ScenarioRun.objects.filter(scenario_id=base, state=RunState.SUCCEEDED)
            .order_by("-created_at")
            .values_list("pk", flat=True)[:20]
        )
