"""Authenticated encryption of single secret fields (AES-256-GCM).

Pure functions, no I/O. A sealed value is a short ASCII string so it can sit in a Cosmos
document next to the connector's public fields:

    fv1.<key_version>.<nonce b64url>.<ciphertext+tag b64url>

`key_version` is the version of the organisation's *data key* (not of the Key Vault key
that wraps it): rotating the vault key re-wraps data keys but never touches sealed values.

The associated data (AAD) binds tenant id, connector id, field name and data-key version,
so a ciphertext copied to another record, field or organisation fails authentication.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.errors import FerryError

#: envelope format marker; bump when the layout changes
ENVELOPE_PREFIX = "fv1"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit nonce, the size GCM is specified for (NIST SP 800-38D)


class DecryptionError(FerryError):
    """A sealed value is malformed, was tampered with, or belongs to another record."""

    slug = "decryption-failed"
    title = "Secret could not be decrypted"


@dataclass(frozen=True, slots=True)
class Sealed:
    """One sealed value: data-key version, nonce and ciphertext (GCM tag appended)."""

    key_version: int
    nonce: bytes
    ciphertext: bytes

    def to_str(self) -> str:
        """Serialise to the `fv1.<kv>.<nonce>.<ct>` envelope string."""
        return ".".join((ENVELOPE_PREFIX, str(self.key_version), _b64e(self.nonce), _b64e(self.ciphertext)))

    @classmethod
    def from_str(cls, envelope: str) -> Sealed:
        """Parse an envelope string; raises DecryptionError when it is not one."""
        parts = envelope.split(".") if isinstance(envelope, str) else []
        if len(parts) != 4 or parts[0] != ENVELOPE_PREFIX or not parts[1].isdigit():
            raise DecryptionError("not a sealed value")
        try:
            nonce, ciphertext = _b64d(parts[2]), _b64d(parts[3])
        except ValueError as exc:
            raise DecryptionError("sealed value is not valid base64") from exc
        if len(nonce) != NONCE_BYTES or len(ciphertext) < 16:
            raise DecryptionError("sealed value has a wrong length")
        return cls(key_version=int(parts[1]), nonce=nonce, ciphertext=ciphertext)


def new_data_key() -> bytes:
    """A fresh random AES-256 data key."""
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def build_aad(tenant_id: str, connector_id: str, field: str, key_version: int) -> bytes:
    """Associated data binding a ciphertext to its organisation, record, field and key version.

    Length-prefixed so that no two different tuples encode to the same bytes
    (plain joining would let ("a.b", "c") collide with ("a", "b.c")).
    """
    out = bytearray(b"ferry-secret-v1")
    for part in (tenant_id, connector_id, field, str(key_version)):
        raw = part.encode("utf-8")
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


def seal(key: bytes, plaintext: bytes, aad: bytes, *, key_version: int) -> Sealed:
    """Encrypt `plaintext` under `key` with a fresh random 96-bit nonce.

    Random nonces are safe here: each data key encrypts far fewer than 2**32 values
    (NIST SP 800-38D section 8.3), because a data key is per organisation.
    """
    _check_key(key)
    nonce = os.urandom(NONCE_BYTES)
    return Sealed(key_version, nonce, AESGCM(key).encrypt(nonce, plaintext, aad))


def open_sealed(key: bytes, sealed: Sealed, aad: bytes) -> bytes:
    """Decrypt and authenticate; raises DecryptionError on any mismatch."""
    _check_key(key)
    try:
        return AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, aad)
    except InvalidTag as exc:
        raise DecryptionError("sealed value failed authentication") from exc


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError("data key must be 32 bytes (AES-256)")


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
