"""The privacy ledger: the epsilon every differentially private release spent, per dataset."""

from __future__ import annotations

from django.db import models


class PrivacyLedgerEntry(models.Model):
    dataset = models.CharField(max_length=32, db_index=True)
    epsilon = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)
    query = models.CharField(max_length=255, help_text="What was released: dataset, partition, measure, window.")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "privacy ledger entries"

    def __str__(self) -> str:
        return f"{self.dataset}: epsilon {self.epsilon:g} ({self.query})"
