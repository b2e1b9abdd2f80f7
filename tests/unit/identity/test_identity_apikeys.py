"""API key format, checksum, parsing and the header rule."""

from __future__ import annotations

import hashlib
import string
import zlib

import pytest

from shared.errors import AuthenticationError
from shared.identity import apikeys
from shared.identity.apikeys import Credential, credential_from_headers

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _checksum(marked_body: str) -> str:
    n = zlib.crc32(marked_body.encode())
    out = ""
    for _ in range(6):
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out


def test_generated_key_shape() -> None:
    key = apikeys.generate()
    assert key.plaintext.startswith("ferry_")
    assert len(key.plaintext) == 48 == apikeys.KEY_LENGTH
    body = key.plaintext[6:42]
    assert set(body) <= set(B62)
    assert key.plaintext[42:] == _checksum(key.plaintext[:42])
    assert key.prefix == body[:12]
    assert key.digest == hashlib.sha256(key.plaintext.encode()).hexdigest()
    assert apikeys.display_form(key.prefix) == f"ferry_{key.prefix}…"


def test_keys_are_random() -> None:
    keys = [apikeys.generate() for _ in range(2000)]
    assert len({k.plaintext for k in keys}) == len({k.prefix for k in keys}) == 2000
    # Every symbol of the alphabet shows up: the body is not a narrower encoding.
    assert set("".join(k.plaintext[6:42] for k in keys)) == set(B62)


def test_parse_round_trip() -> None:
    key = apikeys.generate()
    assert apikeys.looks_like_key(key.plaintext)
    assert apikeys.parse(key.plaintext) == (key.prefix, key.digest)
    assert apikeys.digests_match(apikeys.parse(key.plaintext).digest, key.digest)
    assert not apikeys.digests_match(apikeys.generate().digest, key.digest)


def test_every_single_character_change_is_caught() -> None:
    # CRC32 detects every burst error up to 32 bits, so any one-character change fails.
    key = apikeys.generate().plaintext
    for position in range(6, len(key)):
        replacement = "a" if key[position] != "a" else "b"
        tampered = key[:position] + replacement + key[position + 1 :]
        assert not apikeys.looks_like_key(tampered)
        with pytest.raises(AuthenticationError, match="malformed API key"):
            apikeys.parse(tampered)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ferry_",
        "ghp_" + "a" * 40,
        "Ferry_" + "a" * 42,
        "ferry-" + "a" * 42,
        "ferry_" + "a" * 41,
        "ferry_" + "a" * 43,
        "ferry_" + "a" * 35 + "!" + "a" * 6,
        " ferry_" + "a" * 42,
        "ferry_" + "é" * 42,
    ],
)
def test_malformed_keys(text: str) -> None:
    assert not apikeys.looks_like_key(text)
    with pytest.raises(AuthenticationError):
        apikeys.parse(text)


def test_key_with_whitespace_around_is_refused() -> None:
    key = apikeys.generate().plaintext
    assert not apikeys.looks_like_key(key + "\n")


def test_pattern_finds_keys_in_text() -> None:
    key = apikeys.generate().plaintext
    text = f"curl -H 'Authorization: Bearer {key}' https://x\nother ferry_short token"
    found = apikeys.KEY_PATTERN.findall(text)
    assert found == [key]
    assert apikeys.KEY_PATTERN.findall("x" + key) == []


def test_non_string_input() -> None:
    assert not apikeys.looks_like_key(None)  # type: ignore[arg-type]


KEY = apikeys.generate().plaintext


@pytest.mark.parametrize(
    ("authorization", "x_key", "expected"),
    [
        (f"Bearer {KEY}", None, Credential("api_key", KEY)),
        (f"bearer   {KEY} ", None, Credential("api_key", KEY)),
        (None, KEY, Credential("api_key", KEY)),
        (f"Bearer {KEY}", KEY, Credential("api_key", KEY)),
        ("Bearer eyJhbGciOi.x.y", None, Credential("bearer", "eyJhbGciOi.x.y")),
        ("", f" {KEY} ", Credential("api_key", KEY)),
    ],
    # named, not shown: KEY is made anew per process (ids must match across xdist workers)
    ids=["bearer", "bearer-spaced", "x-key", "both-same", "token", "x-key-spaced"],
)
def test_credential_from_headers(authorization: str | None, x_key: str | None, expected: Credential) -> None:
    assert credential_from_headers(authorization, x_key) == expected


@pytest.mark.parametrize(
    ("authorization", "x_key", "reason"),
    [
        (None, None, "missing"),
        ("", "  ", "missing"),
        (f"Basic {KEY}", None, "Bearer"),
        ("Bearer", None, "Bearer"),
        ("Bearer eyJ.x.y", KEY, "conflicting"),
    ],
    ids=["none", "blank", "basic", "bearer-empty", "conflicting"],
)
def test_credential_from_headers_refusals(authorization: str | None, x_key: str | None, reason: str) -> None:
    with pytest.raises(AuthenticationError, match=reason):
        credential_from_headers(authorization, x_key)
