"""File and link attachments of the Planner writer: task references, with files uploaded
to the group's SharePoint library (simple PUT up to 4 MiB, upload sessions above)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from shared.connectors.planner.client import PlannerClient
from shared.connectors.planner.directory import Directory
from shared.connectors.planner.mapping import encode_reference_key
from shared.connectors.planner.placement import KeyedLocks, need, remember
from shared.contract.connector import MAX_CHUNK_BYTES, DestRefs
from shared.contract.model import Attachment
from shared.errors import NotFoundError, SkippableItemError, TransientError

SIMPLE_UPLOAD_MAX = 4 * 1024 * 1024
#: upload-session fragments must be multiples of 320 KiB; 10 × 320 KiB stays under 4 MiB
FRAGMENT = 10 * 320 * 1024


def marker_dir(marker: str) -> str:
    """The folder (and reference-key needle) of one marker: ':' is not allowed in names."""
    return marker.replace(":", "-")


_BAD_NAME_CHARS = set('"*:<>?/\\|')


def safe_file_name(name: str) -> str:
    """SharePoint refuses `" * : < > ? / \\ |` and leading/trailing spaces or dots in names."""
    cleaned = "".join("_" if ch in _BAD_NAME_CHARS or ord(ch) < 32 else ch for ch in name)
    cleaned = cleaned.strip(" .")
    return cleaned[:200] or "attachment"


class Uploads:
    """``upload_attachment`` of the Planner writer.

    A task's references live in its details, written under their etag. The etag of the
    last answer for a task's details is kept (``remember_details``), so a reference is one
    PATCH (a stale etag is read again); references of one task are written one at a time,
    each with the etag the previous one answered."""

    def __init__(self, client: PlannerClient, directory: Directory) -> None:
        self.client = client
        self.directory = directory
        self._locks = KeyedLocks()
        #: task id → etag of its details in the last answer seen
        self._details_etags: dict[str, str] = {}

    def remember_details(self, task_id: str, details: dict[str, Any]) -> None:
        """Keep the etag of a details answer (a write of the task's description)."""
        etag = details.get("@odata.etag")
        if isinstance(etag, str):
            remember(self._details_etags, task_id, etag)
        else:
            self._details_etags.pop(task_id, None)

    async def upload_attachment(
        self, record: Attachment, refs: DestRefs, marker: str, chunks: AsyncIterator[bytes] | None
    ) -> str:
        task_id = need(refs.task, "task")
        if record.is_link or chunks is None:
            url = record.url or ""
            kind = "Other"
        else:
            plan = refs.project or (await self.directory.task(task_id)).plan_id
            group = await self.directory.group_of(plan)
            item = await self._upload(
                group, f"Ferry/{marker_dir(marker)}/{safe_file_name(record.name)}", record, chunks
            )
            url = str(item["webUrl"])
            kind = "Other"
        key = encode_reference_key(url)
        ref = {"@odata.type": "#microsoft.graph.plannerExternalReference", "alias": record.name[:255], "type": kind}
        path = f"/planner/tasks/{task_id}/details"
        body = {"references": {key: ref}}
        async with self._locks(f"references|{task_id}"):
            etag = self._details_etags.pop(task_id, None)
            written = await (self.client.patch_known(path, body, etag) if etag else self.client.patch_etag(path, body))
            self.remember_details(task_id, written)
        return f"{task_id}|{key}"

    async def _upload(self, group: str, path: str, record: Attachment, chunks: AsyncIterator[bytes]) -> dict[str, Any]:
        target = f"/groups/{group}/drive/root:/{quote(path)}"
        content_type = record.mime_type or "application/octet-stream"
        if record.size is not None and record.size <= SIMPLE_UPLOAD_MAX:
            return await self.client.put_stream(f"{target}:/content", chunks, content_type, record.size)
        if record.size is None:
            raise SkippableItemError("a file of unknown size cannot be uploaded to SharePoint")
        session = await self.client.post(
            f"{target}:/createUploadSession", {"item": {"@microsoft.graph.conflictBehavior": "replace"}}
        )
        upload_url = str(session["uploadUrl"])
        buffer = bytearray()
        sent = 0
        # Graph answers every fragment but the last with 202 + nextExpectedRanges and the one
        # that completes the file with 201/200 + the driveItem
        # (https://learn.microsoft.com/graph/api/driveitem-createuploadsession). Keep the
        # answer of whichever fragment was sent last: when the size is a multiple of
        # FRAGMENT, that is the last full fragment sent inside the loop.
        result: dict[str, Any] | None = None
        try:
            async for chunk in chunks:
                buffer.extend(chunk)
                while len(buffer) >= FRAGMENT:  # at most one fragment + one chunk in memory
                    part = bytes(buffer[:FRAGMENT])
                    del buffer[:FRAGMENT]
                    result = await self._send_fragment(upload_url, target, part, sent, record.size)
                    sent += len(part)
            if buffer:
                result = await self._send_fragment(upload_url, target, bytes(buffer), sent, record.size)
                sent += len(buffer)
            if sent != record.size:
                raise SkippableItemError(f"the file has {sent} bytes but {record.size} were declared")
            if result is None or "webUrl" not in result:
                raise SkippableItemError("the upload session did not complete")
        except Exception:
            await self._cancel_session(upload_url)
            raise
        assert MAX_CHUNK_BYTES >= FRAGMENT
        return result

    async def _send_fragment(
        self, upload_url: str, target: str, part: bytes, start: int, total: int
    ) -> dict[str, Any] | None:
        """Send one fragment: the driveItem when it completed the file, else None.

        A fragment whose answer was lost (connection reset, 5xx) may have landed all the
        same; its retry then answers 416 (range already received) or, after the final
        fragment, 404 (the session is gone because the file was committed). Graph's way out
        is the session's status, "resuming an in-progress upload": GET uploadUrl →
        nextExpectedRanges. Go on when the server expects the next byte, else re-raise.
        """
        end = start + len(part)
        try:
            # the upload URL is pre-authenticated: no bearer token
            response = await self.client.plain(
                "PUT", upload_url, content=part, headers={"Content-Range": f"bytes {start}-{end - 1}/{total}"}
            )
        except (TransientError, SkippableItemError, NotFoundError):
            expected = await self._next_expected(upload_url)
            if end < total and expected == end:
                return None  # it landed; only its 202 was lost
            if end == total and expected is None:
                item = await self._committed(target, total)
                if item is not None:
                    return item  # committed; only its 201/200 was lost
            raise
        if response.status_code in (200, 201):
            data: dict[str, Any] = response.json()
            return data
        return None

    async def _next_expected(self, upload_url: str) -> int | None:
        """The first byte the session still expects, or None when the session is gone."""
        try:
            status = await self.client.plain("GET", upload_url)
        except NotFoundError:
            return None
        ranges = status.json().get("nextExpectedRanges") or []
        return int(str(ranges[0]).split("-", 1)[0]) if ranges else None

    async def _committed(self, target: str, total: int) -> dict[str, Any] | None:
        """The file at ``target`` if it has the whole size (the session committed it)."""
        try:
            item = await self.client.get_json(f"{target}:")
        except NotFoundError:
            return None
        return item if item.get("size") == total and "webUrl" in item else None

    async def _cancel_session(self, upload_url: str) -> None:
        """Best effort: a session that will never complete is deleted, so its fragments do not
        linger until it expires (DELETE on the pre-authenticated URL, no bearer token). A
        retry of the attachment opens a new session."""
        try:
            await self.client.plain("DELETE", upload_url)
        except Exception:
            return
