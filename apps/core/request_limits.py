"""Request body limits, enforced in the ASGI layer before Django reads a byte of the body.

Django's ASGI handler reads the whole body (to memory, then to a temporary file) before any middleware or
view runs, so a check in a view comes too late: an anonymous 300 MB POST to any URL would already have been
spooled to disk. This wrapper answers 413 at once when Content-Length is over the limit, and counts the
bytes of a body sent without one (chunked), cutting Django off (as a client disconnect) the moment the
count passes the limit, then answering 413 itself.

The limit is the default one (CITYTWIN_MAX_BODY_KB) except where `larger_limit` grants more to a request
(the upload page, for the roles that may load data), so the large limit is never granted anonymously."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]  # Django's handler types its messages as Mapping
# Given the request's scope, the limit in bytes when it may send more than the default, else None.
LargerLimit = Callable[[Scope], Awaitable[int | None]]


def declared_length(scope: Scope) -> int | None:
    """The Content-Length header as an int; None when absent; -1 when malformed or repeated differently."""
    values = {v for k, v in scope.get("headers", []) if k.lower() == b"content-length"}
    if not values:
        return None
    if len(values) > 1:
        return -1
    raw = values.pop().strip()
    return int(raw) if raw.isdigit() and len(raw) < 19 else -1


async def send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def too_large_body(limit: int) -> dict[str, Any]:
    shown = f"{limit / (1024 * 1024):.0f} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return {
        "code": "request_too_large",
        "detail": f"The request body is larger than the {shown} allowed here.",
    }


class RequestBodyLimit:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp, *, default_limit: int, larger_limit: LargerLimit | None = None) -> None:
        self.app = app
        self.default_limit = default_limit
        self.larger_limit = larger_limit

    async def limit_for(self, scope: Scope) -> int:
        if self.larger_limit is not None:
            granted = await self.larger_limit(scope)
            if granted is not None:
                return max(granted, self.default_limit)
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if declared == -1:
            await send_json(send, 400, {"code": "malformed", "detail": "The Content-Length header is not valid."})
            return
        limit = self.default_limit
        if declared is None or declared > self.default_limit:
            limit = await self.limit_for(scope)
        if declared is not None and declared > limit:
            await send_json(send, 413, too_large_body(limit))
            return

        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Django treats a disconnect while reading the body as an aborted request and
                    # answers nothing; the 413 is sent below.
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, tracking_send)
        if exceeded and not started:
            await send_json(send, 413, too_large_body(limit))
