"""How deeply parsed JSON nests, measured without recursion.

Python's json module, repr() and json.dumps() recurse once per level: a few kilobytes of `[[[[...` raise
RecursionError. Code that takes JSON from outside (ingest, the websocket) refuses values deeper than it
needs before anything recursive walks them."""

from __future__ import annotations

from typing import Any


def too_deep(value: Any, limit: int) -> bool:
    """True if lists and objects nest more than `limit` levels (the value itself is level 1)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if level >= limit:
                    return True
                stack.append((child, level + 1))
    return False
