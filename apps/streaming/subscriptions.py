"""What the hub (hub.py) keeps per socket and per snapshot: the Socket protocol a consumer implements, a
Subscription (one socket's interest in one topic, with its pending pre-encoded items), and the snapshot shared
by the subscriptions with the same topic, params and audience."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from .topics import Item, Topic


def encode(message: Any) -> str:
    return json.dumps(message, separators=(",", ":"), default=str)


class Socket(Protocol):
    """What the hub needs of a consumer."""

    def push(self, text: str) -> None: ...

    async def deliver(self, text: str) -> None: ...

    def busy_for(self, now: float) -> float: ...

    def too_slow(self) -> None: ...

    async def account_changed(self, event: dict[str, Any]) -> None: ...


@dataclass(eq=False)
class Subscription:
    socket: Socket
    id: str
    topic: Topic
    params: dict[str, Any]
    audience: str
    seq: int = 0
    ready: bool = False  # False until its snapshot went out: updates wait for it
    pending: dict[Any, str] = field(default_factory=dict)  # item key -> encoded item
    header: str = ""
    params_key: str = ""

    def __post_init__(self) -> None:
        self.params_key = encode(sorted(self.params.items()))
        self.header = f'{{"type":"update","id":{encode(self.id)},"topic":{encode(self.topic.name)},"seq":'

    def update_text(self) -> str:
        self.seq += 1
        items = ",".join(self.pending.values())
        self.pending.clear()
        return f'{self.header}{self.seq},"items":[{items}]}}'


@dataclass(eq=False)
class SharedSnapshot:
    """One snapshot query's result, kept current with the batches that arrive after the query began."""

    topic: Topic
    params: dict[str, Any]
    started: float
    items: dict[Any, Item] = field(default_factory=dict)
    during: list[list[Item]] = field(default_factory=list)  # batches that arrived while the query ran
    done: asyncio.Future[None] | None = None
    text: str | None = None  # the items as a JSON array, encoded once for every subscriber; None: stale

    def items_text(self) -> str:
        if self.text is None:
            self.text = "[" + ",".join(encode(item) for item in self.items.values()) + "]"
        return self.text

    def apply(self, items: list[Item]) -> None:
        if self.done is None or not self.done.done():
            self.during.append(items)
            return
        for item in items:
            if not self.topic.wants(item, self.params):
                continue
            self.text = None
            key = self.topic.key(item)
            if self.topic.in_snapshot(item):
                self.items[key] = item
            else:
                self.items.pop(key, None)
