"""Publishing to websocket subscribers, through the Redis channel layer. Call only after the data is
committed (transaction.on_commit or after atomic()), and once per batch, never once per row."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache

MESSAGE_TYPE = "stream.batch"


def next_seq(group: str) -> int:
    """A per-group sequence shared by all publishers, so a consumer can tell that it missed a batch."""
    key = f"citytwin:stream:seq:{group}"
    try:
        return int(cache.incr(key))
    except ValueError:
        cache.add(key, 0, timeout=None)
        return int(cache.incr(key))


def publish(group: str, topic: str, items: list[dict[str, Any]]) -> None:
    if not items:
        return
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(
        group, {"type": MESSAGE_TYPE, "topic": topic, "seq": next_seq(group), "items": items}
    )
