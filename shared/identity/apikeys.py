"""Organisation API keys: generation, offline format check, hashing.

Format (GitHub-token style, so a leaked key is recognisable offline)::

    ferry_<36 base62 chars><6 base62 chars checksum>        48 characters in all
          └ prefix ┘ (first 12 of the 36: the lookup id)

- The 36-character body is drawn with `secrets` from 62 symbols: ≈ 214 random bits.
  The first 12 characters (≈ 71 bits) are the *prefix*: the non-secret lookup id stored
  in clear, shown in the UI and written to audit records. The remaining 24 characters
  (≈ 143 bits) stay secret even when the prefix is known.
- The checksum is CRC32 of `ferry_<body>` written as 6 base62 digits. It is not a
  security measure: it lets secret scanners and our own log redaction tell a real key
  from a random string offline, and lets `parse` reject typos and junk before any
  database read.
- Only the SHA-256 hex digest of the whole key is stored; the plaintext is shown once.

How a client sends a key
------------------------
Primary: ``Authorization: Bearer ferry_…`` — the standard header every HTTP client,
proxy and log scrubber already treats as a secret; the `ferry_` marker tells it apart
from an OIDC token (a JWT never starts with `ferry_`). Also accepted: ``X-Ferry-Key:
ferry_…`` for tools that reserve `Authorization` for something else. Sending both with
different values is refused. `credential_from_headers` implements exactly this rule.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass
from typing import Literal, NamedTuple

from shared.errors import AuthenticationError

KEY_MARKER = "ferry_"
BODY_LENGTH = 36
PREFIX_LENGTH = 12
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(KEY_MARKER) + BODY_LENGTH + CHECKSUM_LENGTH
API_KEY_HEADER = "X-Ferry-Key"

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SHAPE = re.compile(rf"{KEY_MARKER}[0-9A-Za-z]{{{BODY_LENGTH + CHECKSUM_LENGTH}}}")
#: Finds candidate keys inside free text (log redaction, secret scanning); confirm each
#: match with `looks_like_key` to drop look-alikes whose checksum is wrong.
KEY_PATTERN = re.compile(
    rf"(?<![0-9A-Za-z_]){KEY_MARKER}[0-9A-Za-z]{{{BODY_LENGTH + CHECKSUM_LENGTH}}}(?![0-9A-Za-z_])"
)


class NewKey(NamedTuple):
    """A freshly generated key: show `plaintext` once, store `prefix` and `digest`."""

    plaintext: str
    prefix: str
    digest: str


class ParsedKey(NamedTuple):
    """What a presented key resolves to: look up by `prefix`, compare `digest`."""

    prefix: str
    digest: str


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        chars.append(_ALPHABET[rest])
    return "".join(reversed(chars))


def _checksum(marked_body: str) -> str:
    # CRC32 < 2**32 < 62**6, so six digits always suffice.
    return _base62(zlib.crc32(marked_body.encode("ascii")), CHECKSUM_LENGTH)


def digest_of(plaintext: str) -> str:
    """SHA-256 hex digest of a key, the only form that is stored."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def generate() -> NewKey:
    """Create a new random key with its lookup prefix and stored digest."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(BODY_LENGTH))
    marked = KEY_MARKER + body
    plaintext = marked + _checksum(marked)
    return NewKey(plaintext=plaintext, prefix=body[:PREFIX_LENGTH], digest=digest_of(plaintext))


def looks_like_key(text: str) -> bool:
    """True when `text` is exactly a well-formed Ferry key with a valid checksum.

    Offline and cheap: what secret scanners and redaction use. It says nothing about
    whether the key exists or is revoked.
    """
    if not isinstance(text, str) or _SHAPE.fullmatch(text) is None:
        return False
    marked = text[: len(KEY_MARKER) + BODY_LENGTH]
    return hmac.compare_digest(text[len(KEY_MARKER) + BODY_LENGTH :], _checksum(marked))


def parse(plaintext: str) -> ParsedKey:
    """Split a presented key into (prefix, digest), rejecting bad shapes before any I/O.

    Raises `AuthenticationError("malformed API key")` for a wrong length, alphabet,
    marker or checksum.
    """
    if not looks_like_key(plaintext):
        raise AuthenticationError("malformed API key")
    prefix = plaintext[len(KEY_MARKER) : len(KEY_MARKER) + PREFIX_LENGTH]
    return ParsedKey(prefix=prefix, digest=digest_of(plaintext))


def digests_match(presented: str, stored: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(presented.encode("ascii", "replace"), stored.encode("ascii", "replace"))


def display_form(prefix: str) -> str:
    """How a key is shown after creation (UI, audit): `ferry_<prefix>…`."""
    return f"{KEY_MARKER}{prefix}…"


@dataclass(frozen=True)
class Credential:
    """A credential taken from request headers, not yet verified."""

    kind: Literal["api_key", "bearer"]
    value: str


def credential_from_headers(authorization: str | None, x_ferry_key: str | None) -> Credential:
    """Pick the credential of a request (see the module docstring for the rule).

    `Authorization: Bearer <v>` yields an `api_key` credential when `<v>` starts with
    `ferry_`, otherwise a `bearer` (OIDC token) credential. `X-Ferry-Key` always yields
    an `api_key`. Raises `AuthenticationError` when there is no credential, the scheme is
    not Bearer, or the two headers disagree.
    """
    bearer: str | None = None
    if authorization is not None and authorization.strip():
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationError("use the Bearer authorization scheme")
        bearer = value.strip()
    header_key = x_ferry_key.strip() if x_ferry_key is not None and x_ferry_key.strip() else None
    if bearer is not None and header_key is not None and bearer != header_key:
        raise AuthenticationError("conflicting credentials in Authorization and X-Ferry-Key")
    if header_key is not None:
        return Credential("api_key", header_key)
    if bearer is None:
        raise AuthenticationError("missing credentials")
    if bearer.startswith(KEY_MARKER):
        return Credential("api_key", bearer)
    return Credential("bearer", bearer)
