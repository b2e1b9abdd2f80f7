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
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx

from shared.connectors.asana.capabilities import asana_rate_limit
from shared.connectors.kit.auth import Credential
from shared.connectors.kit.errors import ErrorTable, becomes, rule
from shared.connectors.kit.http import ApiClient
from shared.connectors.kit.paging import TokenPaging, fetch_all, fetch_page
from shared.contract.pacer import Pacer
from shared.errors import SkippableItemError
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

    @property
    def http(self) -> httpx.AsyncClient:
        return self.api.http

    @property
    def pacer(self) -> Pacer:
        return self.api.pacer

    async def aclose(self) -> None:
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
        params = {"opt_fields": opt_fields} if opt_fields else None
        return _data(await self.api.json("POST", path, params=params, json={"data": data}, idempotent=idempotent))

    async def put(self, path: str, data: dict[str, Any]) -> Any:
        return _data(await self.api.json("PUT", path, json={"data": data}))

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
