"""Publishing to websocket subscribers, through the Redis channel layer. Call only after the data is
committed (transaction.on_commit or after atomic()), and once per batch, never once per row.

publish() is called from synchronous code (the ingest worker, views, the demo feed). asgiref's async_to_sync
would start a new event loop for every call from a thread without one, and the channel layer opens a Redis
connection per event loop: ~10 ms per call. So the process keeps one event loop in a background thread for
publishing, and its connection stays open."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from channels.layers import get_channel_layer
from django.core.cache import cache

MESSAGE_TYPE = "stream.batch"
PUBLISH_TIMEOUT_S = 5.0

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_thread: threading.Thread | None = None


def _publishing_loop() -> asyncio.AbstractEventLoop:
    """This process's publishing loop (a new one after a fork: the thread does not survive it)."""
    global _loop, _loop_pid, _thread
    with _lock:
        if _loop is None or _loop_pid != os.getpid() or _thread is None or not _thread.is_alive():
            _loop = asyncio.new_event_loop()
            _loop_pid = os.getpid()
            _thread = threading.Thread(target=_loop.run_forever, name="citytwin-publish", daemon=True)
            _thread.start()
        return _loop


def next_seq(group: str) -> int:
    """A per-group sequence shared by all publishers, so a consumer can tell that it missed a batch."""
    key = f"citytwin:stream:seq:{group}"
    try:
        return int(cache.incr(key))
    except ValueError:
        cache.add(key, 0, timeout=None)
        return int(cache.incr(key))


def publish(group: str, topic: str, items: list[dict[str, Any]]) -> None:
    """Send one batch to a group (raises if Redis does not take it within PUBLISH_TIMEOUT_S)."""
    if not items:
        return
    message = {"type": MESSAGE_TYPE, "topic": topic, "seq": next_seq(group), "items": items}
    layer = get_channel_layer()
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _publishing_loop())
    future.result(timeout=PUBLISH_TIMEOUT_S)


ACCOUNT_MESSAGE_TYPE = "account.changed"


def account_group(user_id: int) -> str:
    """The group every open websocket of one user joins: told when that user's account changed."""
    return f"account.{int(user_id)}"


def notify_account_changed(user_id: int, *, ended_session: str | None = None) -> None:
    """Tell the user's open websockets to re-check their session and subscriptions (best effort: they also
    re-check on their own every conf.recheck_s()). `ended_session`: the session being logged out, whose
    sockets close without a check (logout deletes the session only after its signal)."""
    layer = get_channel_layer()
    message = {"type": ACCOUNT_MESSAGE_TYPE, "user_id": int(user_id), "ended_session": ended_session}
    future = asyncio.run_coroutine_threadsafe(layer.group_send(account_group(user_id), message), _publishing_loop())
    future.result(timeout=PUBLISH_TIMEOUT_S)
