"""Writes of the privacy module: charging a differentially private release to its dataset's budget."""

from __future__ import annotations

import zlib

from django.db import connection, transaction
from django.db.models import Sum

from . import conf
from .exceptions import PrivacyBudgetExhausted
from .models import PrivacyLedgerEntry


def epsilon_spent(dataset: str) -> float:
    return float(PrivacyLedgerEntry.objects.filter(dataset=dataset).aggregate(total=Sum("epsilon"))["total"] or 0.0)


@transaction.atomic
def spend_epsilon(*, dataset: str, epsilon: float, query: str) -> PrivacyLedgerEntry:
    """Record a release's epsilon, or refuse it when the dataset's budget cannot pay for it. A transaction
    lock per dataset serialises concurrent releases, so two cannot both take the last of the budget."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(f"privacy:{dataset}".encode())])
    spent = epsilon_spent(dataset)
    budget = conf.epsilon_budget(dataset)
    if spent + epsilon > budget + 1e-9:
        raise PrivacyBudgetExhausted(
            f"this release would cost epsilon {epsilon:g}; {max(budget - spent, 0):g} of the {dataset} budget "
            f"({budget:g}) is left. Ask for a shorter window, or for the figures without noise.",
            details={"dataset": dataset, "epsilon": epsilon, "spent": spent, "budget": budget},
        )
    return PrivacyLedgerEntry.objects.create(dataset=dataset, epsilon=epsilon, query=query[:255])
