"""Topics a websocket client can subscribe to. A domain app declares its topics in its own topics.py and
registers them in its AppConfig.ready(); streaming knows nothing about the domains."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Item = dict[str, Any]


class SubscriptionError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class Topic:
    name: str
    group: str  # the channel-layer group publishers send to
    # (user, raw params) -> cleaned params; raises SubscriptionError (forbidden, invalid)
    authorize: Callable[[Any, dict[str, Any]], dict[str, Any]]
    # (user, cleaned params) -> the current state: items for the snapshot (runs in a thread: may use the ORM)
    snapshot: Callable[[Any, dict[str, Any]], list[Item]]
    # (item, cleaned params) -> does this subscriber want it
    wants: Callable[[Item, dict[str, Any]], bool]
    # item -> key under which later items replace earlier ones within one interval
    key: Callable[[Item], Any]
    # item -> does it belong in a snapshot (an alert that resolved does not); snapshots are shared between
    # subscriptions with the same params and audience and kept current with later batches for this long
    in_snapshot: Callable[[Item], bool] = lambda item: True
    snapshot_ttl_s: float = 10.0


TOPICS: dict[str, Topic] = {}


def refuse_unknown_params(topic: str, params: dict[str, Any], known: tuple[str, ...]) -> None:
    """For a topic's authorize(): a param it does not take is the client's error, said as such."""
    unknown = sorted(str(name)[:32] for name in params if name not in known)
    if unknown:
        takes = f"takes {', '.join(known)}" if known else "takes no params"
        raise SubscriptionError("invalid", f"unknown params {', '.join(unknown[:5])}: {topic} {takes}")


def register(topic: Topic) -> None:
    TOPICS[topic.name] = topic
