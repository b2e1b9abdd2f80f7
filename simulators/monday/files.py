"""Files: uploads (GraphQL multipart request), assets and their download links.

Uploads follow the GraphQL multipart request convention monday documents for
``add_file_to_column``/``add_file_to_update`` (https://developer.monday.com/api-reference/reference/assets-1):
a ``multipart/form-data`` POST to ``/v2/file`` (``/v2`` works too) with the operation in a
``query`` field (and ``variables`` as JSON) or in an ``operations`` JSON field, a ``map``
field naming which part fills which variable (``{"image": "variables.file"}`` or the
spec's ``{"image": ["variables.file"]}``), and the file parts. The multipart parser spools
each file to disk; the store keeps the file under its upload directory.

``Asset.public_url`` is a signed link valid for one hour that needs no token (monday's
``public_url`` is a presigned S3 link "valid for 1 hour"); ``Asset.url`` needs the token.
Both are served by this simulator (``/_files/...`` and ``/protected_static/...``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote

from simulators.common import SimClock
from simulators.monday.store import Asset

#: the simulator's upload limit per file (monday's help pages name 500 MB; not in the SDL)
MAX_UPLOAD_BYTES = 500 * 1024 * 1024
PUBLIC_TTL_S = 3600.0
CHUNK = 256 * 1024


@dataclass
class UploadedFile:
    """A multipart file part, copied into the store's upload directory."""

    filename: str
    content_type: str
    path: str
    size: int


class UploadTooLarge(Exception):
    pass


def spool(
    upload_dir: str, source: IO[bytes], filename: str, content_type: str, max_bytes: int = MAX_UPLOAD_BYTES
) -> UploadedFile:
    """Copy an uploaded part (already spooled by the multipart parser) into ``upload_dir``."""
    fd, path = tempfile.mkstemp(dir=upload_dir)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLarge(filename)
                out.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return UploadedFile(filename, content_type, path, size)


def apply_map(variables: dict[str, Any], mapping: dict[str, Any], files: dict[str, UploadedFile]) -> dict[str, Any]:
    """Put each file part where ``map`` says (``variables.file`` → ``variables["file"]``)."""
    for part, targets in mapping.items():
        if part not in files:
            raise ValueError(f"map names a missing file part {part!r}")
        for target in targets if isinstance(targets, list) else [targets]:
            path = str(target).split(".")
            if path[0] == "variables":
                path = path[1:]
            if not path:
                raise ValueError(f"bad map target {target!r}")
            node: Any = variables
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = files[part]
    return variables


def parse_operations(form: dict[str, str]) -> tuple[str, dict[str, Any], str | None]:
    """Query, variables and operation name of a multipart request's text fields."""
    if "operations" in form:
        ops = json.loads(form["operations"])
        return str(ops.get("query", "")), dict(ops.get("variables") or {}), ops.get("operationName")
    variables = json.loads(form["variables"]) if form.get("variables") else {}
    return form.get("query", ""), variables, form.get("operationName")


def store_file(upload_dir: str, up: UploadedFile) -> str:
    """Move an uploaded part under the store (the temp copy belongs to this request)."""
    fd, path = tempfile.mkstemp(dir=upload_dir, prefix="asset-")
    os.close(fd)
    shutil.move(up.path, path)
    return path


class UrlSigner:
    """HMAC-signed, expiring download links."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.key = secrets.token_bytes(32)

    def sign(self, asset_id: str, expires: int) -> str:
        return hmac.new(self.key, f"{asset_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def valid(self, asset_id: str, expires: str, sig: str) -> bool:
        if not expires.isdigit() or int(expires) < self.clock.time():
            return False
        return hmac.compare_digest(self.sign(asset_id, int(expires)), sig)


def public_url(ctx: Any, asset: Asset) -> str:
    expires = int(ctx.store.clock.time() + PUBLIC_TTL_S)
    sig = ctx.signer.sign(asset.id, expires)
    return f"{ctx.base_url}/_files/{asset.id}/{quote(asset.name)}?expires={expires}&sig={sig}"


def private_url(ctx: Any, asset: Asset) -> str:
    return f"{ctx.base_url}/protected_static/{asset.id}/{quote(asset.name)}"
