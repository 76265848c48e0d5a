"""The base every loaded feature shares: where it came from (source + source id, the natural key a reload
upserts on), which import last touched it, and the source's raw attributes."""

from __future__ import annotations

from django.db import models


class SourcedFeature(models.Model):
    source = models.CharField(
        max_length=64, help_text="Where the feature comes from, e.g. 'osm' or the file's dataset name."
    )
    source_id = models.CharField(
        max_length=128, help_text="The feature's id in its source, e.g. 'way/4236349'. With source: the natural key."
    )
    import_run = models.ForeignKey(
        "imports.ImportRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.JSONField(default=dict, blank=True, help_text="The source's attributes, as loaded.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @classmethod
    def natural_key_constraint(cls, name: str) -> models.UniqueConstraint:
        return models.UniqueConstraint(fields=["source", "source_id"], name=name)
