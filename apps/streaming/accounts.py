"""Account changes reach open websockets: when a user's role changes, the account is deactivated or the user
logs out, that user's sockets are told at once (their consumer re-checks the session and every
subscription; apps/streaming/consumers.py). Receivers only pass the word on; they decide nothing."""

from __future__ import annotations

import logging
from typing import Any

from .publish import notify_account_changed

log = logging.getLogger(__name__)


def _notify(user_id: int | None, ended_session: str | None = None) -> None:
    if user_id is None:
        return
    try:
        notify_account_changed(user_id, ended_session=ended_session)
    except Exception:  # noqa: BLE001 - Redis away: the sockets' own periodic re-check catches up
        log.warning("could not tell the websockets of user %s about an account change", user_id, exc_info=True)


def on_account_changed(sender: Any, user_id: int, **kwargs: Any) -> None:
    _notify(user_id)


def on_logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    _notify(getattr(user, "pk", None), getattr(session, "session_key", None))
