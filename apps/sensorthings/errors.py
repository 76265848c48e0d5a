"""The errors of the SensorThings API: a request a client can fix is a 400 with a precise sentence."""

from __future__ import annotations

from apps.core.exceptions import DomainError


class StaQueryError(DomainError):
    """A bad path, query option or $filter: the message says what and where."""

    code = "invalid_query"
