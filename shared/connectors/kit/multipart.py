"""A ``multipart/form-data`` body (RFC 7578) whose file part is streamed, never held whole.

Vendors take attachments as a form upload (Asana, Jira, Trello, monday.com's GraphQL
multipart request). The body is a generator: the form fields, the file part's head, the
file's chunks as they come from the source, the closing boundary. With a declared size the
request carries an exact ``Content-Length`` and a source that yields more or fewer bytes
fails the item instead of storing a different file.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from shared.errors import SkippableItemError

#: how the file name goes into ``Content-Disposition``: ``html`` as browsers send it (UTF-8,
#: '"', CR and LF percent-escaped: Jira, Trello keep what they receive), ``rfc5987`` a
#: percent-encoded ``filename`` plus ``filename*=UTF-8''…`` (Asana asks for encoded names)
NameStyle = Literal["html", "rfc5987"]


@dataclass(frozen=True)
class FilePart:
    name: str
    mime: str
    chunks: AsyncIterator[bytes]
    #: bytes the source declares; None sends the body chunked (no Content-Length)
    size: int | None
    field: str = "file"


@dataclass(frozen=True)
class Multipart:
    content_type: str
    length: int | None
    body: AsyncIterator[bytes]


def _disposition_name(name: str, style: NameStyle) -> str:
    if style == "rfc5987":
        return f"filename=\"{quote(name, safe=' ._-()')}\"; filename*=UTF-8''{quote(name)}"
    return 'filename="' + name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A") + '"'


def _field(boundary: str, name: str, value: str) -> bytes:
    return f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()


def multipart(fields: Mapping[str, str], file: FilePart | None = None, *, name_style: NameStyle = "html") -> Multipart:
    """The form: ``fields`` in order, then ``file`` (if any)."""
    boundary = "ferry-" + secrets.token_hex(12)
    head = b"".join(_field(boundary, k, v) for k, v in fields.items())
    tail = f"--{boundary}--\r\n".encode()
    if file is None:
        body = head + tail

        async def whole() -> AsyncIterator[bytes]:
            yield body

        return Multipart(f"multipart/form-data; boundary={boundary}", len(body), whole())
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file.field}"; '
        f"{_disposition_name(file.name, name_style)}\r\nContent-Type: {file.mime}\r\n\r\n"
    ).encode()
    tail = b"\r\n" + tail
    length = None if file.size is None else len(head) + file.size + len(tail)

    async def streamed() -> AsyncIterator[bytes]:
        yield head
        async for chunk in exact_size(file.chunks, file.size):
            yield chunk
        yield tail

    return Multipart(f"multipart/form-data; boundary={boundary}", length, streamed())


async def exact_size(chunks: AsyncIterator[bytes], size: int | None) -> AsyncIterator[bytes]:
    """``chunks`` as they come, failing the item when they add up to another ``size``."""
    sent = 0
    async for chunk in chunks:
        sent += len(chunk)
        if size is not None and sent > size:
            raise SkippableItemError("attachment is larger than declared", status=400)
        yield chunk
    if size is not None and sent != size:
        raise SkippableItemError("attachment is smaller than declared", status=400)
