"""Asana wire calls on the kit's ``ApiClient``: pacer, error table, refresh-once after a 401.

Base URL ``https://app.asana.com/api/1.0``; bearer token; bodies ``{"data": ...}``; errors
``{"errors": [{"message", "help"}]}``; pagination by ``limit`` (1-100) + ``offset`` token
(https://developers.asana.com/docs/pagination). Rate limits: ``capabilities.asana_rate_limit``.

Attachment bytes come from ``download_url``, a presigned link to Asana's file store valid
for about two minutes (AttachmentResponse.download_url). It is fetched just in time,
without the bearer token, through a second guarded client whose allowed hosts are
``DOWNLOAD_HOSTS``.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from shared.connectors.asana.capabilities import MAX_BATCH, asana_rate_limit
from shared.connectors.kit.auth import Credential
from shared.connectors.kit.batching import Coalescer
from shared.connectors.kit.errors import ErrorTable, becomes, rule
from shared.connectors.kit.http import ApiClient
from shared.connectors.kit.paging import TokenPaging, fetch_all, fetch_page
from shared.contract.pacer import Action, DeferChunk, Pacer, as_transient, classify
from shared.errors import SkippableItemError, TransientError
from shared.net.guard import register_vendor_hosts
from shared.net.http import build_client

API_BASE = "https://app.asana.com/api/1.0"
VENDOR = "Asana"
FILES_KIND = "asana_files"
#: Where presigned attachment links point. Asana serves them from Amazon S3 buckets; the
#: exact bucket names are not documented, hence the S3 wildcard (public addresses only:
#: the guard still refuses private and loopback addresses outside local mode).
DOWNLOAD_HOSTS = ("*.s3.amazonaws.com", "app.asana.com")
register_vendor_hosts(FILES_KIND, DOWNLOAD_HOSTS)

PAGE_MAX = 100
#: ``{"data": [...], "next_page": {"offset": "…"} | null}``
PAGING = TokenPaging(
    records_at=("data",), next_at=("next_page", "offset"), token_param="offset", size_param="limit", max_size=PAGE_MAX
)


class OffsetExpiredError(SkippableItemError):
    """Asana refused an offset token (expired or foreign): restart the listing."""


def _offset_refused(resp: httpx.Response) -> bool:
    # 400 "offset: Your pagination token has expired." (Asana's errors[0].message)
    try:
        errors = resp.json().get("errors") or [{}]
        return str(errors[0].get("message", "")).startswith("offset:")
    except (ValueError, AttributeError, IndexError):
        return False


#: What Asana means differently from the kit's defaults.
ASANA_ERRORS = ErrorTable(
    VENDOR,
    [
        rule(400, becomes(OffsetExpiredError), when=_offset_refused),
        # 403 is per object in Asana (a project of a workspace the user is not in, someone
        # else's story, an expired presigned link): that item, or that scope's read, fails alone.
        rule(403, becomes(SkippableItemError)),
    ],
)


def _data(body: Any) -> Any:
    return body.get("data") if isinstance(body, dict) else None


@dataclass(frozen=True)
class Write:
    """A JSON write: alone, ``METHOD path?opt_fields=…`` with ``{"data": data}``; in a
    ``/batch``, one of its actions."""

    method: str
    path: str
    data: dict[str, Any]
    fields: str | None  # opt_fields
    idempotent: bool

    def wire(self) -> dict[str, Any]:
        """The batch action (https://developers.asana.com/reference/createbatchrequest)."""
        action: dict[str, Any] = {"relative_path": self.path, "method": self.method.lower(), "data": self.data}
        if self.fields:
            action["options"] = {"fields": self.fields.split(",")}
        return action


class _SendAgain(Exception):
    """An action whose batch answer says "try again": an update refused with a 5xx, or any
    action refused with a 429 (Asana did not run it). It goes in a later batch, after
    ``retry_after`` when the answer said so."""

    def __init__(self, error: Exception, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class AsanaClient:
    """Thin async client of the Asana REST API. ``base_url`` is the ``…/api/1.0`` root."""

    def __init__(
        self,
        base_url: str,
        credential: Credential,
        *,
        pacer: Pacer | None = None,
        plan: str = "paid",
        allow_loopback: bool = False,
        http: httpx.AsyncClient | None = None,
        files_http: httpx.AsyncClient | None = None,
    ) -> None:
        base_url = base_url.rstrip("/")
        self.api = ApiClient(
            http or build_client("asana", allow_loopback=allow_loopback, base_url=base_url),
            pacer=pacer or Pacer(asana_rate_limit(plan)),
            errors=ASANA_ERRORS,
            credential=credential,
            # No bearer token there: download links are presigned and may point elsewhere.
            files=files_http or build_client(FILES_KIND, allow_loopback=allow_loopback),
        )
        #: writes made at the same time go out as one ``/batch`` (``shared.connectors.kit.batching``)
        self._batches: Coalescer[Write] = Coalescer(self._send_batch, max_size=self._batch_size)

    @property
    def http(self) -> httpx.AsyncClient:
        return self.api.http

    @property
    def pacer(self) -> Pacer:
        return self.api.pacer

    async def aclose(self) -> None:
        await self._batches.aclose()
        await self.api.aclose()

    # --- JSON calls --------------------------------------------------------------------------

    async def get(self, path: str, **params: Any) -> Any:
        """``data`` of a GET."""
        return _data(await self.api.get(path, params))

    async def _fetch(self, path: str, query: dict[str, Any]) -> httpx.Response:
        return await self.api.request("GET", path, params=query)

    async def page(
        self, path: str, params: dict[str, Any], offset: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a listing: (items, next offset or None)."""
        return await fetch_page(self._fetch, PAGING, path, offset, page_size=limit, params=params)

    async def all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a listing, page by page (for small listings such as sections)."""
        return await fetch_all(self._fetch, PAGING, path, page_size=PAGE_MAX, params=params)

    async def post(
        self, path: str, data: dict[str, Any], *, idempotent: bool = False, opt_fields: str | None = None
    ) -> Any:
        """``data`` of a POST; ``opt_fields`` asks for only those fields of the created object
        besides its ``gid``, which Asana always returns. Writers that need the id alone ask for
        ``created_at`` (a field every create answer may be narrowed to; ``gid`` itself is not
        in the spec's list): a task otherwise comes back with every field, which both sides
        spend CPU encoding and parsing."""
        return await self._write(Write("POST", path, data, opt_fields, idempotent))

    async def put(self, path: str, data: dict[str, Any]) -> Any:
        return await self._write(Write("PUT", path, data, None, True))

    def _batch_size(self) -> int:
        """Up to 10 actions, as many as the pacer lets one call count as."""
        return max(1, min(MAX_BATCH, self.pacer.max_cost))

    async def _write(self, action: Write) -> Any:
        """A JSON write, in a ``/batch`` with the writes made at the same time when the pacer
        lets a call count as several requests. An action that failed in a way the pacer
        retries (a 5xx) is sent again in a later batch when it is idempotent, as the pacer
        would have resent it alone; a create's is ambiguous and goes to the engine."""
        if self._batch_size() < 2:
            return await self._single(action)
        settings = self.pacer.settings
        retries = 0
        while True:
            try:
                return await self._batches.submit(action)
            except _SendAgain as again:
                retries += 1
                if retries > settings.max_retries:
                    raise again.error from None
                wait = max(self.pacer.backoff(retries), again.retry_after or 0.0)
                if wait > settings.defer_threshold_s:  # as the pacer: no long sleep in a function
                    raise DeferChunk(wait, f"retry {retries} after {again.error}") from again.error
                await self.pacer.clock.sleep(wait)

    async def _single(self, action: Write) -> Any:
        params = {"opt_fields": action.fields} if action.fields else None
        body = {"data": action.data}
        return _data(
            await self.api.json(action.method, action.path, params=params, json=body, idempotent=action.idempotent)
        )

    async def _send_batch(self, actions: Sequence[Write]) -> list[Any]:
        """One ``POST /batch``: each action's ``data``, or the exception its caller raises."""
        idempotent = all(a.idempotent for a in actions)
        body = {"data": {"actions": [a.wire() for a in actions]}}

        async def attempt() -> list[Any]:
            resp = await self.api.send_checked("POST", "/batch", json=body)
            try:
                results = resp.json()["data"]
            except (ValueError, KeyError, TypeError) as exc:
                raise TransientError(f"{VENDOR}: a /batch answer that is not a list of results") from exc
            if not isinstance(results, list) or len(results) != len(actions):
                raise TransientError(f"{VENDOR}: a /batch answer without a result for every action")
            return results

        try:
            results = await self.api.call(attempt, idempotent=idempotent, cost=len(actions))
        except Exception as exc:
            if idempotent or classify(exc) is not Action.RETRY:
                raise  # the pacer has done what it does with this failure
            # ambiguous for the creates; the updates are sent again, as alone they would be
            return [_SendAgain(exc) if a.idempotent else as_transient(exc) for a in actions]
        return [self._outcome(a, r) for a, r in zip(actions, results, strict=True)]

    def _outcome(self, action: Write, result: Any) -> Any:
        """An action's result: its ``data``, or the error its answer means (the error table's)."""
        status = result.get("status_code") if isinstance(result, dict) else None
        body = result.get("body") if isinstance(result, dict) else None
        if isinstance(status, int) and 200 <= status < 300:
            return _data(body)
        request = self.api.http.build_request(action.method, action.path.lstrip("/"))
        headers = result.get("headers") if isinstance(result, dict) else None
        answer = httpx.Response(
            status if isinstance(status, int) else 502,
            json=body,
            headers={str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else None,
            request=request,
        )
        try:
            self.api.errors.check(answer)
        except Exception as exc:
            kind = classify(exc)
            if kind is Action.RATE_LIMITED:  # not run (Asana refuses a whole batch instead, though)
                return _SendAgain(exc, getattr(exc, "retry_after", None))
            if kind is Action.RETRY:
                return _SendAgain(exc) if action.idempotent else as_transient(exc)
            return exc
        return TransientError(f"{VENDOR}: a /batch action answered {status}")

    async def delete(self, path: str) -> None:
        """Idempotent: a missing object is already deleted."""
        await self.api.delete(path)

    # --- files -------------------------------------------------------------------------------

    async def upload(
        self, fields: dict[str, str], file: tuple[str, str, AsyncIterator[bytes], int | None] | None = None
    ) -> Any:
        """POST /attachments as multipart/form-data, streaming the file part.

        ``file`` = (name, content type, chunks, size or None). With a known size the body
        has a Content-Length; a stream that yields a different size fails the upload.
        Non-ASCII file names are URL-encoded, as the createAttachmentForObject docs ask.
        A form without a file (a link attachment) is plain bytes, so it may be re-sent.
        """
        boundary = "ferry-" + secrets.token_hex(12)
        content_type = f"multipart/form-data; boundary={boundary}"
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode() + v.encode() + b"\r\n"
            for k, v in fields.items()
        )
        if file is None:
            resp = await self.api.request(
                "POST",
                "/attachments",
                content=head + f"--{boundary}--\r\n".encode(),
                headers={"Content-Type": content_type},
                idempotent=False,
            )
            return _data(resp.json())
        name, mime, chunks, size = file
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f"filename=\"{quote(name, safe=' ._-()')}\"; filename*=UTF-8''{quote(name)}\r\n"
            f"Content-Type: {mime}\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        async def body() -> AsyncIterator[bytes]:
            yield head
            sent = 0
            async for chunk in chunks:
                sent += len(chunk)
                if size is not None and sent > size:
                    raise SkippableItemError("attachment is larger than declared", status=400)
                yield chunk
            if size is not None and sent != size:
                raise SkippableItemError("attachment is smaller than declared", status=400)
            yield tail

        # one-shot: never re-sent (the kit makes the token fresh before sending instead)
        resp = await self.api.upload(
            "POST",
            "/attachments",
            body(),
            content_type=content_type,
            length=None if size is None else len(head) + size + len(tail),
        )
        return _data(resp.json())

    def download(self, url: str) -> AsyncIterator[bytes]:
        """Stream a presigned download link (no credentials) in chunks."""
        return self.api.download(url, authorised=False)
