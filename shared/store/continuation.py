"""Continuation tokens a client can hold but not forge.

A list answers the Cosmos continuation of its query wrapped as `c1.<body>.<mac>`:
`body` is the Cosmos token (base64url) and `mac` an HMAC-SHA256 over the version, the
query's *scope* (container, partition, SQL and parameters) and the body. So only a token
Ferry issued for this very query of this very tenant reaches the Cosmos client:

* junk (`continuation=TRUE`, base64 of other JSON) is a 422 naming `continuation` at
  once, instead of a 500 after the SDK's retries;
* a genuine token of another list or another tenant is refused the same way, so it can
  neither be echoed back as the next page (a paging client would loop) nor steer a query.

The key is random, 32 bytes per region, kept in that region's Cosmos database (one
document in the `leases` container under a partition no tenant uses) so every instance of
the region shares it; it is read once per process. A key lost or replaced only turns the
tokens clients hold into 422s: they start the listing again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

from shared.errors import ValidationFailed

VERSION = "c1"
#: Cosmos single-partition tokens are a few hundred bytes; anything far longer is not ours.
MAX_TOKEN_LENGTH = 8192
KEY_CONTAINER = "leases"
KEY_DOC_ID = "ferry-continuation-key"
KEY_PARTITION = "ferry:continuation-key"  # never a tenant id (those are org_<region>_…)
_MAC_BYTES = 16


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def query_scope(container: str, partition: str, sql: str, parameters: list[dict[str, Any]]) -> str:
    """What a token is bound to: the exact query of one partition of one container."""
    return json.dumps([container, partition, sql, parameters], sort_keys=True, separators=(",", ":"), default=str)


class ContinuationCodec:
    """Wraps Cosmos continuation tokens with a MAC bound to their query."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the continuation key must be at least 32 bytes")
        self._key = key

    def _mac(self, scope: str, body: str) -> str:
        digest = hmac.new(self._key, f"{VERSION}\n{scope}\n{body}".encode(), hashlib.sha256).digest()
        return _b64e(digest[:_MAC_BYTES])

    def encode(self, raw: str | None, *, scope: str) -> str | None:
        """The client-facing token of a Cosmos continuation (None: no further page)."""
        if not raw:
            return None
        body = _b64e(raw.encode())
        return f"{VERSION}.{body}.{self._mac(scope, body)}"

    def decode(self, token: str | None, *, scope: str) -> str | None:
        """The Cosmos continuation a token carries; ValidationFailed for anything Ferry did
        not issue for this query."""
        if not token:
            return None
        parts = token.split(".")
        if len(token) > MAX_TOKEN_LENGTH or len(parts) != 3 or parts[0] != VERSION:
            raise _invalid()
        _, body, mac = parts
        if not hmac.compare_digest(mac.encode("ascii", "replace"), self._mac(scope, body).encode()):
            raise _invalid()
        try:
            return _b64d(body).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:  # only if the key leaked
            raise _invalid() from exc


def _invalid() -> ValidationFailed:
    return ValidationFailed(
        "the continuation token is not valid for this list; start again without it", field="continuation"
    )


async def load_or_create_key(container: Any, doc_id: str = KEY_DOC_ID, partition: str = KEY_PARTITION) -> bytes:
    """The region's continuation key (or another region-wide secret named by ``doc_id`` and
    ``partition``), created on first use (two racing creators agree: the loser of the create
    reads the winner's key)."""
    for _ in range(3):
        try:
            doc = await container.read_item(doc_id, partition_key=partition)
            return _b64d(str(doc["key"]))
        except Exception as exc:
            if getattr(exc, "status_code", None) != 404:
                raise
        try:
            await container.create_item({"id": doc_id, "pk": partition, "key": _b64e(secrets.token_bytes(32))})
        except Exception as exc:
            if getattr(exc, "status_code", None) != 409:
                raise
    raise RuntimeError(f"the region key {doc_id} could neither be read nor created")
