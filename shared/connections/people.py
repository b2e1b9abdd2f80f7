"""The people a stored connector can see (`GET …/connectors/{id}/people`), for the user mapping
a person builds before a run.

People are personal data: they go from the vendor to the caller and nowhere else — nothing is
stored, nothing is logged (not even in a failure: only the error's type), nothing is cached
beyond the request. Each page asks the vendor again; the list is sorted so pages follow on.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from shared.connections.service import (
    TEST_TIMEOUT_S,
    allow_loopback_for,
    connection_of,
    describe_failure,
    failure_problem,
    get_connector,
)
from shared.connectors.registry import ConnectorRuntime, open_runtime, probe_pacer
from shared.contract.connector import PeopleLister
from shared.contract.model import UserRef
from shared.errors import NotFoundError, SkippableItemError, ValidationFailed
from shared.tenancy.context import TenantContext

log = logging.getLogger("ferry.connectors")

CONTAINER_FIELD = "container"
#: longest container id a vendor uses (Jira's site host, a Graph GUID, a monday id…)
MAX_CONTAINER_CHARS = 200


@dataclass(frozen=True)
class PeoplePage:
    items: list[UserRef]
    continuation: str | None


def _lister(runtime: ConnectorRuntime) -> PeopleLister:
    for side in (runtime.reader, runtime.writer):
        if isinstance(side, PeopleLister):
            return side
    raise ValidationFailed(
        "this connector cannot list people",
        field="connectorId",
        errors=[{"field": "connectorId", "message": "its kind cannot list people"}],
    )


def _unique_sorted(people: list[UserRef]) -> list[UserRef]:
    """Each person once (by vendor id, else e-mail), by name then e-mail: a stable order for
    paging and for a person reading the list."""
    found: dict[str, UserRef] = {}
    for p in people:
        key = p.source_id or (p.email or "").lower() or p.display_name or ""
        known = found.get(key)
        if key and (known is None or (p.email and not known.email)):
            found[key] = p
    return sorted(
        found.values(), key=lambda p: ((p.display_name or "").casefold(), (p.email or "").lower(), p.source_id or "")
    )


def _offset(continuation: str | None) -> int:
    if continuation is None:
        return 0
    if not continuation.isdigit() or len(continuation) > 9:
        raise ValidationFailed(
            "continuation: not a token of this list",
            field="continuation",
            errors=[{"field": "continuation", "message": "not a token of this list"}],
        )
    return int(continuation)


def _unknown_container(exc: BaseException) -> bool:
    """The vendor's 404 (or, Trello, a 400 "invalid id") for the scope asked."""
    if isinstance(exc, NotFoundError):
        return True
    extra = getattr(exc, "extra", None) or {}
    return isinstance(exc, SkippableItemError) and extra.get("status") in (400, 404)


def check_container(container: str | None) -> str | None:
    if container is None:
        return None
    if not container.strip() or len(container) > MAX_CONTAINER_CHARS or not container.isprintable():
        raise ValidationFailed(
            f"{CONTAINER_FIELD}: not a container id",
            field=CONTAINER_FIELD,
            errors=[{"field": CONTAINER_FIELD, "message": "not a container id"}],
        )
    return container


async def list_people(
    ctx: TenantContext,
    connector_id: str,
    *,
    container: str | None = None,
    page_size: int = 100,
    continuation: str | None = None,
    allow_loopback: bool | None = None,
) -> PeoplePage:
    """One page of the people the connector sees in ``container`` (a workspace, board,
    project or plan id from `/containers`; None: everyone it sees).

    Fails as `/containers` does (`failure_problem`: 424 credentials refused, 502 vendor
    trouble); a container the vendor does not know is a 422 naming ``container``.
    """
    offset = _offset(continuation)
    scope = check_container(container)
    doc = await get_connector(ctx, connector_id)
    runtime: ConnectorRuntime | None = None
    try:
        connection = await connection_of(ctx, doc)
        runtime = await open_runtime(
            connection, allow_loopback=allow_loopback_for(ctx, allow_loopback), pacer=probe_pacer(connection)
        )  # a person is waiting: fail fast
        people = await asyncio.wait_for(_lister(runtime).list_people(scope), TEST_TIMEOUT_S)
    except ValidationFailed:
        raise  # the request is at fault
    except Exception as exc:
        if _unknown_container(exc):
            raise ValidationFailed(
                f"{CONTAINER_FIELD}: the connector shows no such container",
                field=CONTAINER_FIELD,
                errors=[{"field": CONTAINER_FIELD, "message": "the connector shows no such container"}],
            ) from exc
        status, _ = describe_failure(exc)
        if status == "error":  # the type only: a vendor's message may quote a person
            log.warning("listing people failed unexpectedly: %s", type(exc).__name__)
        raise failure_problem(exc) from exc
    finally:
        if runtime is not None:
            await runtime.aclose()
    ordered = _unique_sorted(people)
    page = ordered[offset : offset + page_size]
    more = offset + page_size < len(ordered)
    return PeoplePage(items=page, continuation=str(offset + page_size) if more else None)
