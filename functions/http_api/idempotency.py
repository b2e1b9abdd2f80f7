"""`Idempotency-Key` for every creating POST (shared/tenancy/idempotency.py has the rules).

A route declares `key: IdempotencyKey` and wraps its create in `idempotent(...)`: without
the header nothing changes; with it, a retry of the same request answers the first answer's
status and what it created (read again, with `Idempotent-Replayed: true`), another request
under the same key is a 409 problem, and nothing is created twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header, Request
from starlette.responses import JSONResponse

from shared.store.repository import utcnow
from shared.tenancy.idempotency import (
    HEADER,
    KEY_TTL,
    Claim,
    IdempotencyRepository,
    claim,
    complete,
    release,
    request_digest,
)

REPLAYED_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description=(
            "Makes a retried create safe: a unique value per intended create (a UUID), 1-255 printable ASCII "
            f"characters. For {int(KEY_TTL.total_seconds() // 3600)} hours the same key with the same method, path and "
            "body answers the first answer's status and what it created (read again; header "
            f"`{REPLAYED_HEADER}: true`; an API key's secret is shown only in the first answer), while the same key "
            "with another request is a 409 `idempotency-key-reused`, and during the first request a 409 "
            "`idempotency-key-in-use`. Keys are kept per organisation (per person for creating an organisation); "
            "a request that failed creates nothing and frees its key."
        ),
    ),
]


async def idempotent(
    request: Request,
    key: str | None,
    repo: IdempotencyRepository,
    *,
    status: int,
    create: Callable[[], Awaitable[dict[str, Any]]],
    show: Callable[[str], Awaitable[dict[str, Any]]],
) -> dict[str, Any] | JSONResponse:
    """Run `create` once per key; `show(id)` answers a replay. `status` is the route's success status."""
    if key is None:
        return await create()
    held = await claim(repo, key, request_digest(request.method, request.url.path, await request.body()), now=utcnow())
    if not isinstance(held, Claim):
        return JSONResponse(await show(held.resource_id), status_code=held.status, headers={REPLAYED_HEADER: "true"})
    try:
        body = await create()
    except BaseException:
        await release(repo, held)
        raise
    await complete(repo, held, status=status, resource_id=str(body["id"]))
    return body
