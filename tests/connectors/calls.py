"""Counting a connector client's calls in a test: which operations or paths a write sent."""

from __future__ import annotations

from typing import Any


def record_calls(client: Any, method: str) -> list[str]:
    """Wrap ``client.<method>`` (an async call whose first argument names the operation or
    path) so that each call appends that name to the returned list before it runs."""
    names: list[str] = []
    inner = getattr(client, method)

    async def recorded(name: str, *args: Any, **kwargs: Any) -> Any:
        names.append(name)
        return await inner(name, *args, **kwargs)

    setattr(client, method, recorded)
    return names
