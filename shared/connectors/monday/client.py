"""monday.com GraphQL calls on the kit's ``ApiClient``: every call through the credential's
pacer, HTTP statuses checked by ``MONDAY_ERRORS``, GraphQL errors (answered with HTTP 200)
by ``GRAPHQL_ERRORS``, and the per-minute complexity budget watched.

What monday's answers mean (https://developer.monday.com/api-reference/docs/error-handling):
* HTTP 401 → the token was refused (``AuthRequiredError``: the run pauses); 429 (complexity
  budget, concurrency, IP and minute limits) carries ``Retry-After`` → ``ThrottledError``;
  5xx → transient. These are the kit's defaults.
* HTTP 200 with ``errors[].extensions.code``: a table from code to typed error below
  (unknown codes fail the item alone).

The complexity budget (10M points per minute per personal token; "resets 60 seconds after the
first call", https://developer.monday.com/api-reference/docs/rate-limits) is watched, not
guessed: every operation also selects ``complexity { query after reset_in_x_seconds }``, and
before an operation whose last cost is more than what the budget has left, the client raises
``ThrottledError`` with the seconds until the reset — the pacer waits (or defers the chunk)
instead of spending a request on a ``COMPLEXITY_BUDGET_EXHAUSTED``.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx

from shared.connectors.kit.auth import Credential
from shared.connectors.kit.errors import ErrorTable
from shared.connectors.kit.http import ApiClient
from shared.connectors.monday import operations as ops
from shared.connectors.monday.auth import API_VERSION
from shared.connectors.monday.capabilities import MONDAY_RATE_LIMIT
from shared.contract.clock import Clock, SystemClock
from shared.contract.model import Container, ContainerKind, UserRef
from shared.contract.pacer import Pacer
from shared.errors import (
    AuthRequiredError,
    FerryError,
    NotFoundError,
    PermissionDeniedError,
    SkippableItemError,
    ThrottledError,
    TransientError,
)
from shared.net.guard import register_vendor_hosts
from shared.net.http import build_client

logger = logging.getLogger(__name__)

#: Where ``Asset.public_url`` points: monday keeps files on S3 behind signed links valid for
#: an hour (the bucket host is an assumption to confirm; fetched without the token).
FILES_KIND = "monday_files"
register_vendor_hosts(FILES_KIND, ("files-monday-com.s3.amazonaws.com", "*.s3.amazonaws.com", "*.monday.com"))
DOWNLOAD_CHUNK = 1024 * 1024

MONDAY_ERRORS = ErrorTable("monday.com")


class CursorExpired(SkippableItemError):
    """monday's ``items_page`` cursor is older than 60 minutes (the reader starts over)."""


class LastGroup(SkippableItemError):
    """monday keeps at least one group on a board (``DeleteLastGroupException``)."""


def _retry_in(ext: Mapping[str, Any]) -> float | None:
    value = ext.get("retry_in_seconds")
    if value is None:
        value = (ext.get("error_data") or {}).get("retry_in_seconds")
    return float(value) if isinstance(value, int | float) else None


def _throttled(msg: str, ext: Mapping[str, Any]) -> FerryError:
    return ThrottledError(msg, retry_after=_retry_in(ext))


def _item(
    error: type[SkippableItemError] | type[NotFoundError], status: int
) -> Callable[[str, Mapping[str, Any]], FerryError]:
    return lambda msg, _: error(msg, status=status)


#: ``extensions.code`` → typed error (status codes from the error-handling page's list).
GRAPHQL_ERRORS: dict[str, Callable[[str, Mapping[str, Any]], FerryError]] = {
    "ResourceNotFoundException": _item(NotFoundError, 404),
    "InvalidBoardIdException": _item(NotFoundError, 404),
    "InvalidItemIdException": _item(NotFoundError, 404),
    "InvalidGroupIdException": _item(NotFoundError, 404),
    "COMPLEXITY_BUDGET_EXHAUSTED": _throttled,
    "ComplexityException": _throttled,
    "maxConcurrencyExceeded": _throttled,
    "IP_RATE_LIMIT_EXCEEDED": _throttled,
    "FIELD_LIMIT_EXCEEDED": _throttled,
    "RATE_LIMIT_EXCEEDED": _throttled,
    "UNAUTHENTICATED": lambda msg, _: AuthRequiredError(f"monday.com refused the token: {msg}"),
    "UserUnauthorizedException": lambda msg, _: PermissionDeniedError(msg),
    "CursorExpiredError": _item(CursorExpired, 400),
    "CursorException": _item(CursorExpired, 400),  # a cursor monday no longer knows
    "DeleteLastGroupException": _item(LastGroup, 400),
    "INTERNAL_SERVER_ERROR": lambda msg, _: TransientError(msg),
}


def graphql_error(body: Mapping[str, Any]) -> FerryError | None:
    """The typed error of an answer's first GraphQL error (None when there is none)."""
    errors = body.get("errors") or []
    if not errors:
        return None
    first: Mapping[str, Any] = errors[0] if isinstance(errors[0], Mapping) else {"message": str(errors[0])}
    ext: Mapping[str, Any] = first.get("extensions") or {}
    code = str(ext.get("code") or body.get("error_code") or "")
    msg = f"monday.com: {first.get('message', 'error')} ({code or 'no code'})"
    factory = GRAPHQL_ERRORS.get(code)
    if factory is not None:
        return factory(msg, ext)
    return SkippableItemError(msg, status=int(ext.get("status_code") or 400))


class ComplexityWatch:
    """The budget monday reports after each operation, and the cost each operation had."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.left: int | None = None
        self.reset_at = 0.0
        self.costs: dict[str, int] = {}

    def check(self, name: str) -> None:
        """``ThrottledError`` (until the reset) when ``name`` would overdraw the budget."""
        now = self.clock.monotonic()
        if self.left is None or now >= self.reset_at:
            return
        # an operation not run yet is assumed to cost as much as the dearest one so far
        if self.costs.get(name, max(self.costs.values(), default=1)) > self.left:
            raise ThrottledError(
                f"monday.com complexity budget: {self.left} points left", retry_after=self.reset_at - now
            )

    def observe(self, name: str, complexity: Mapping[str, Any] | None) -> None:
        if not complexity:
            return
        self.costs[name] = int(complexity.get("query") or 0)
        self.left = int(complexity.get("after") or 0)
        self.reset_at = self.clock.monotonic() + float(complexity.get("reset_in_x_seconds") or 60)


class MondayClient:
    """GraphQL client of ``https://api.monday.com/v2`` (``http`` has ``base_url`` there)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        credential: Credential,
        *,
        pacer: Pacer | None = None,
        clock: Clock | None = None,
        files_http: httpx.AsyncClient | None = None,
    ) -> None:
        local = http.base_url.host in ("127.0.0.1", "localhost", "::1")
        self.api = ApiClient(
            http,
            pacer=pacer or Pacer(MONDAY_RATE_LIMIT, clock=clock),
            errors=MONDAY_ERRORS,
            credential=credential,
            files=files_http or build_client(FILES_KIND, allow_loopback=local),
            headers={"Accept": "application/json", "API-Version": API_VERSION},
        )
        self.pacer = self.api.pacer
        self.endpoint = str(http.base_url).rstrip("/")
        self.budget = ComplexityWatch(clock or SystemClock())
        self._me: UserRef | None = None
        self._users: dict[str, str | None] = {}

    async def aclose(self) -> None:
        await self.api.aclose()

    def _data(self, name: str, resp: httpx.Response) -> dict[str, Any]:
        try:
            body = resp.json()
        except ValueError as exc:
            raise TransientError(
                f"monday.com: {name} answered {resp.status_code} with a body that is not JSON"
            ) from exc
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, dict):
            self.budget.observe(name, data.get("complexity"))
        err = graphql_error(body) if isinstance(body, dict) else TransientError("no body")
        if err is not None:
            raise err
        if not isinstance(data, dict):
            raise TransientError(f"monday.com: {name} answered without data")
        return data

    async def run(
        self, name: str, variables: Mapping[str, Any] | None = None, *, mutation: bool = False, query: str | None = None
    ) -> dict[str, Any]:
        """Run the operation ``operations.OPERATIONS[name]`` (or ``query``, built by
        ``operations``); a mutation is not retried after an ambiguous failure: the engine
        reconciles by marker."""
        query = query or ops.OPERATIONS[name]

        async def attempt() -> dict[str, Any]:
            self.budget.check(name)
            resp = await self.api.send_checked(
                "POST", self.endpoint, json={"query": query, "variables": dict(variables or {})}
            )
            return self._data(name, resp)

        return await self.api.call(attempt, idempotent=not mutation)

    async def upload(
        self, name: str, variables: Mapping[str, Any], *, filename: str, content_type: str, chunks: AsyncIterator[bytes]
    ) -> dict[str, Any]:
        """A GraphQL multipart request to ``/v2/file`` with the file streamed (never held in
        memory) as the ``file`` variable; sent once (the stream is one-shot)."""
        boundary = f"ferry{secrets.token_hex(12)}"
        query = ops.OPERATIONS[name]
        self.budget.check(name)
        body = _multipart(boundary, query, dict(variables), filename, content_type, chunks)
        resp = await self.api.upload(
            "POST", f"{self.endpoint}/file", body, content_type=f"multipart/form-data; boundary={boundary}", length=None
        )
        return self._data(name, resp)

    def download(self, url: str) -> AsyncIterator[bytes]:
        """Stream a file from its signed ``public_url`` (no token sent to the file host)."""
        return self.api.download(url, authorised=False, chunk_size=DOWNLOAD_CHUNK)

    # --- the account, shared by reader and writer --------------------------------------------

    async def whoami(self) -> UserRef:
        if self._me is None:
            me = (await self.run("me"))["me"]
            self._me = UserRef(email=me.get("email"), display_name=me.get("name"), source_id=str(me["id"]))
        return self._me

    async def user_ids(self, emails: list[str]) -> dict[str, str | None]:
        """monday user id per e-mail (lower-cased), None for people without an account."""
        wanted = sorted({e.lower() for e in emails if e} - self._users.keys())
        if wanted:
            found = (await self.run("users_by_email", {"emails": wanted}))["users"] or []
            for u in found:
                self._users[str(u["email"]).lower()] = str(u["id"])
            for e in wanted:
                self._users.setdefault(e, None)
        return {e.lower(): self._users.get(e.lower()) for e in emails if e}

    async def list_containers(self) -> list[Container]:
        """Workspaces and their boards (subitem boards and documents are not containers)."""
        out: list[Container] = []
        page = 1
        while True:
            data = await self.run("workspaces", {"page": page})
            rows = data["workspaces"] or []
            out += [
                Container(id=str(w["id"]), name=w["name"], kind=ContainerKind.WORKSPACE)
                for w in rows
                if w and w.get("id")
            ]
            if len(rows) < ops.LIST_PAGE:
                break
            page += 1
        page = 1
        while True:
            data = await self.run("boards_list", {"page": page})
            rows = data["boards"] or []
            out += [
                Container(
                    id=str(b["id"]),
                    name=b["name"],
                    kind=ContainerKind.BOARD,
                    parent_id=str(b["workspace_id"]) if b.get("workspace_id") else None,
                )
                for b in rows
                if b and b.get("type") == "board"
            ]
            if len(rows) < ops.LIST_PAGE:
                return out
            page += 1


async def _multipart(
    boundary: str, query: str, variables: dict[str, Any], filename: str, content_type: str, chunks: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    """The multipart body: ``query``, ``variables``, ``map`` then the file part, streamed."""
    dash = f"--{boundary}\r\n".encode()
    variables = {**variables, "file": None}
    for name, value in (
        ("query", query),
        ("variables", json.dumps(variables)),
        ("map", json.dumps({"file": "variables.file"})),
    ):
        yield dash + f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode() + b"\r\n"
    # the file name as browsers send it: UTF-8 in the quoted parameter, quotes escaped
    # (RFC 7578 §4.2 allows it; servers seldom read the filename* form)
    safe = filename.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")
    yield (
        dash
        + (
            f'Content-Disposition: form-data; name="file"; filename="{safe}"\r\nContent-Type: {content_type}\r\n\r\n'
        ).encode()
    )
    async for chunk in chunks:
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()
