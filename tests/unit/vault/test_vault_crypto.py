"""AES-256-GCM sealing of single fields: round trip, tamper and misplacement detection."""

from __future__ import annotations

import pytest

from shared.vault.crypto import (
    NONCE_BYTES,
    DecryptionError,
    Sealed,
    build_aad,
    new_data_key,
    open_sealed,
    seal,
)

AAD = build_aad("org-1", "conn-1", "auth.token", 1)


def test_round_trip_through_envelope_string() -> None:
    key = new_data_key()
    sealed = seal(key, "tök€n ✓".encode(), AAD, key_version=1)
    text = sealed.to_str()
    assert text.startswith("fv1.1.") and "tök" not in text
    assert open_sealed(key, Sealed.from_str(text), AAD).decode() == "tök€n ✓"


@pytest.mark.parametrize("part", ["nonce", "ciphertext", "tag"])
def test_flipped_bit_fails(part: str) -> None:
    key = new_data_key()
    sealed = seal(key, b"secret value", AAD, key_version=1)
    nonce, ct = bytearray(sealed.nonce), bytearray(sealed.ciphertext)
    if part == "nonce":
        nonce[3] ^= 0x01
    elif part == "ciphertext":
        ct[0] ^= 0x80
    else:
        ct[-1] ^= 0x01
    with pytest.raises(DecryptionError):
        open_sealed(key, Sealed(1, bytes(nonce), bytes(ct)), AAD)


@pytest.mark.parametrize(
    "other",
    [
        ("org-2", "conn-1", "auth.token", 1),  # moved to another organisation
        ("org-1", "conn-2", "auth.token", 1),  # moved to another connector
        ("org-1", "conn-1", "auth.api_key", 1),  # moved to another field
        ("org-1", "conn-1", "auth.token", 2),  # claimed under another key version
    ],
)
def test_misplaced_ciphertext_fails(other: tuple[str, str, str, int]) -> None:
    key = new_data_key()
    sealed = seal(key, b"secret value", AAD, key_version=1)
    with pytest.raises(DecryptionError):
        open_sealed(key, sealed, build_aad(*other))


def test_other_key_fails() -> None:
    sealed = seal(new_data_key(), b"secret value", AAD, key_version=1)
    with pytest.raises(DecryptionError):
        open_sealed(new_data_key(), sealed, AAD)


def test_aad_is_unambiguous() -> None:
    assert build_aad("a.b", "c", "f", 1) != build_aad("a", "b.c", "f", 1)


@pytest.mark.parametrize(
    "text", ["", "fv1", "fv2.1.AAAA.BBBB", "fv1.x.AAAA.BBBB", "fv1.1.AAAA.BBBB", "fv1.1.!!!!.????", "plain secret"]
)
def test_malformed_envelope_is_rejected(text: str) -> None:
    with pytest.raises(DecryptionError):
        Sealed.from_str(text)


def test_nonces_never_repeat_in_100k_encryptions() -> None:
    key = new_data_key()
    nonces = {seal(key, b"x", AAD, key_version=1).nonce for _ in range(100_000)}
    assert len(nonces) == 100_000
    assert all(len(n) == NONCE_BYTES for n in list(nonces)[:10])
