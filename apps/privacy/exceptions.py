"""The privacy module's domain errors; apps/core/exceptions.py maps them to API answers."""

from __future__ import annotations

from rest_framework import status

from apps.core.exceptions import DomainError


class PublicQueryError(DomainError):
    """A public aggregate asked for outside what is published: unknown dataset, partition or measure, a
    window that is empty, reversed or too long."""

    code = "invalid_public_query"


class PrivacyBudgetExhausted(DomainError):
    """A differentially private release would spend more epsilon than the dataset's budget has left. The
    budget does not refill, so retrying does not help: 403, not 429."""

    code = "privacy_budget_exhausted"
    http_status = status.HTTP_403_FORBIDDEN
