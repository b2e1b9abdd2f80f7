"""Continuation paging shared by every list route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Query

from shared.store.repository import QueryPage

PageSize = Annotated[int, Query(ge=1, le=200, alias="pageSize", description="items per page")]
Continuation = Annotated[str | None, Query(description="token from the previous page's `continuation`")]


def page_body(page: QueryPage[dict[str, Any]], shape: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    return {"items": [shape(d) for d in page.items], "continuation": page.continuation}
