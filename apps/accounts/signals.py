"""account_changed: what a user may do has changed (a new role, deactivated, edited in the admin). Sent
after the change is committed; apps/streaming listens and re-checks that user's open websockets."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

# kwargs: user_id (int)
account_changed = Signal()


def announce_account_changed(user_id: int) -> None:
    transaction.on_commit(lambda: account_changed.send(sender="accounts", user_id=user_id))
