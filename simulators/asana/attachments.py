"""Attachments: uploads (streamed to a temp file), seeded blobs, external links, downloads.

Asana answers ``download_url`` as a short-lived signed link to its file store ("may only be
valid for two minutes", AttachmentResponse.download_url); the simulator serves it itself at
``/_downloads/{gid}/{name}?expires=..&sig=..`` without bearer auth, like a presigned URL.
The 100 MB upload limit is enforced (createAttachmentForObject description).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO
from urllib.parse import quote, unquote

from simulators.asana.models import AsanaApiError, Attachment, bad_request, unknown_object
from simulators.asana.store import AsanaStore
from simulators.asana.tasks import system_story
from simulators.common import make_blob

DOWNLOAD_PREFIX = "/_downloads"
_SECRET = secrets.token_bytes(32)
CHUNK = 256 * 1024


def _parent_gid(store: AsanaStore, parent: str | None) -> str:
    if not parent:
        raise bad_request("parent: Missing input")
    if parent in store.tasks and not store.tasks[parent].deleted:
        return parent
    if parent in store.projects and not store.projects[parent].deleted:
        return parent
    raise bad_request(f"parent: Not a recognized ID: {parent}")


def add_blob_attachment(
    store: AsanaStore, parent: str, name: str, size: int, seed: str, *, content_type: str = "application/octet-stream"
) -> Attachment:
    """Seed helper: an attachment whose bytes are generated on demand (no memory cost)."""
    att = Attachment(store.new_gid(), parent, name, store.now(), size, blob_seed=seed, content_type=content_type)
    store.add_attachment(att)
    return att


@dataclass(frozen=True)
class SpooledUpload:
    """An uploaded file copied into the store's upload directory (not yet an attachment)."""

    path: str
    size: int
    sha256: str


def spool_upload(upload_dir: str, source: IO[bytes], max_bytes: int) -> SpooledUpload:
    """Copy an uploaded file (already spooled by the multipart parser) into ``upload_dir``.

    Runs in a worker thread (blocking file I/O), so it touches no store state: the store is
    only changed on the event loop, under its lock, by :func:`add_uploaded_attachment`.
    """
    fd, path = tempfile.mkstemp(dir=upload_dir)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise bad_request("file: File is too large. The maximum attachment size is 100MB.")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return SpooledUpload(path, size, digest.hexdigest())


def check_parent(store: AsanaStore, parent: str | None) -> str:
    """The gid of a live task or project to attach to, or 400 as Asana answers."""
    return _parent_gid(store, parent)


def add_uploaded_attachment(
    store: AsanaStore, me: str, parent: str | None, filename: str, content_type: str | None, spooled: SpooledUpload
) -> Attachment:
    """Register a spooled upload as an attachment of ``parent`` (call with the store lock)."""
    try:
        parent_gid = _parent_gid(store, parent)  # it may have been deleted while copying
    except BaseException:
        os.unlink(spooled.path)
        raise
    # Asana asks clients to URL-encode non-ASCII file names in Content-Disposition.
    att = Attachment(
        store.new_gid(),
        parent_gid,
        unquote(filename or "upload"),
        store.now(),
        spooled.size,
        content_type=content_type or "application/octet-stream",
        sha256=spooled.sha256,
        path=spooled.path,
    )
    store.add_attachment(att)
    _touch_parent(store, att, me)
    return att


def add_external_attachment(
    store: AsanaStore, me: str, parent: str | None, name: str | None, url: str | None
) -> Attachment:
    """``resource_subtype=external``: ``parent``, ``name`` and ``url`` are required."""
    parent_gid = _parent_gid(store, parent)
    if not url:
        raise bad_request("url: Missing input")
    if not name:
        raise bad_request("name: Missing input")
    att = Attachment(
        store.new_gid(), parent_gid, name, store.now(), 0, host="external", resource_subtype="external", url=url
    )
    store.add_attachment(att)
    _touch_parent(store, att, me)
    return att


def _touch_parent(store: AsanaStore, att: Attachment, me: str) -> None:
    task = store.tasks.get(att.parent)
    if task is not None:
        task.modified_at = store.stamp()
        system_story(store, task, me, "attachment_added")


def delete_attachment(store: AsanaStore, gid: str) -> None:
    att = store.attachment(gid)
    att.deleted = True
    # the spec (TaskResponse.modified_at): "attachment is trashed on a task" moves it
    task = store.tasks.get(att.parent)
    if task is not None:
        task.modified_at = store.stamp()
    if att.path and os.path.exists(att.path):
        os.unlink(att.path)
        att.path = None


def attachments_of(store: AsanaStore, parent: str | None) -> list[Attachment]:
    if not parent:
        raise bad_request("parent: Missing input")
    if parent not in store.tasks and parent not in store.projects:
        raise unknown_object("task", parent)
    return [a for a in (store.attachments[g] for g in store.attachments_by_parent.get(parent, [])) if not a.deleted]


# --- download links ---------------------------------------------------------------------------


def _sign(gid: str, expires: int) -> str:
    return hmac.new(_SECRET, f"{gid}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def download_url(store: AsanaStore, att: Attachment, server_root: str) -> str | None:
    """A presigned-style link valid for ``store.download_ttl_s`` (Asana: two minutes)."""
    if att.resource_subtype == "external":
        return att.url
    expires = int(store.now() + store.download_ttl_s)
    return (
        f"{server_root.rstrip('/')}{DOWNLOAD_PREFIX}/{att.gid}/{quote(att.name)}"
        f"?expires={expires}&sig={_sign(att.gid, expires)}"
    )


def check_download(store: AsanaStore, gid: str, expires: str | None, sig: str | None) -> Attachment:
    """Validate a download link; 403 like an expired S3 presigned URL."""
    try:
        exp = int(expires or "")
    except ValueError as exc:
        raise AsanaApiError(403, "Request has expired or is not signed") from exc
    if not sig or not hmac.compare_digest(sig, _sign(gid, exp)) or store.now() > exp:
        raise AsanaApiError(403, "Request has expired or is not signed")
    return store.attachment(gid)


def iter_content(att: Attachment) -> Iterator[bytes]:
    """Stream the bytes of a stored attachment without loading it whole."""
    if att.blob_seed is not None:
        yield from make_blob(att.size, att.blob_seed).iter_bytes()
        return
    if att.path is None:
        return
    with open(att.path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def content_sha256(att: Attachment) -> str:
    """SHA-256 of the content (computed lazily for seeded blobs)."""
    if att.sha256 is None:
        h = hashlib.sha256()
        for chunk in iter_content(att):
            h.update(chunk)
        att.sha256 = h.hexdigest()
    return att.sha256
