"""Secrets never reach log output in clear: patterns, registered values, logging wiring."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from shared.logs import redaction
from shared.logs.redaction import (
    MASK,
    RedactingFilter,
    clear_registered_secrets,
    forget_secret,
    install_redaction,
    redact,
    redact_obj,
    register_secret,
)

CANARY = "Cn4ry-S3cret-9x7Q"


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    clear_registered_secrets()
    yield
    clear_registered_secrets()


@pytest.mark.parametrize(
    "text",
    [
        f"GET https://api.trello.com/1/boards/abc?key={CANARY}&fields=name",
        f"GET https://api.trello.com/1/boards/abc?fields=name&token={CANARY}",
        f"Authorization: Bearer {CANARY}",
        f"authorization: Basic {CANARY}==",
        f"{{'Authorization': 'token {CANARY}', 'Accept': 'application/json'}}",
        f'{{"headers": {{"authorization": "Bearer {CANARY}"}}}}',
        f"client_secret={CANARY}&grant_type=client_credentials",
        f'{{"client_secret": "{CANARY}", "client_id": "abc"}}',
        f"api_token={CANARY}",
        f'"apiToken": "{CANARY}"',
        f"access_token={CANARY}&expires_in=3600",
        f'{{"refresh_token": "{CANARY}", "token_type": "Bearer"}}',
        f"password: {CANARY}",
        f"{{'password': '{CANARY} with spaces'}}",
        f"login failed (token={CANARY})",
        f"x-api-key: {CANARY}",
        f"Cookie: session={CANARY}; other=1",
        f"retry with Bearer {CANARY}.part2.part3 now",
        f"https://user:{CANARY}@jira.example.org/rest",
        f"pat={CANARY}",
        "jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ" + CANARY + "In0.c2lnbmF0dXJl",
    ],
)
def test_patterns_mask_the_secret(text: str) -> None:
    out = redact(text)
    assert CANARY not in out and CANARY[:8] not in out
    assert MASK in out


def test_ferry_api_keys_are_masked_but_identifiers_are_not() -> None:
    from shared.identity.apikeys import generate  # the real key format

    real = generate().plaintext
    lowercase_only = "ferry_" + "abcdefghij" * 4 + "ab"  # right shape, no digit or capital
    for key in (real, lowercase_only, "ferry_k7GhQ2xP9sLmN4vB8cR1tY6w"):
        out = redact(f"request with {key} and ferry_migration_chunk_processing_id")
        assert key not in out and "ferry_migration_chunk_processing_id" in out
    assert real not in redact(f"X-Ferry-Key: {real}")


@pytest.mark.parametrize(
    "text",
    [
        '{"key": "PROJ-12", "fields": {"summary": "x"}}',  # Jira issue key is not a secret
        "status code: 401 for /rest/api/3/issue",
        '{"nextPageToken": "CURSOR-1", "max_tokens": 128}',
        "basic information about the Bearer challenge",
        "monkey=banana tokenizer=simple",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert redact(text) == text


def test_registered_secret_is_masked_verbatim_and_url_encoded() -> None:
    secret = "no pattern/here+at all"
    register_secret(secret)
    out = redact(f"value {secret} and quoted no%20pattern%2Fhere%2Bat%20all and no+pattern%2Fhere%2Bat+all")
    assert "no pattern" not in out and "no%20pattern" not in out and "no+pattern" not in out
    forget_secret(secret)
    assert secret in redact(f"value {secret}")


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    register_secret("")
    register_secret(None)
    assert redact("abc abc") == "abc abc"


def test_registry_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redaction, "MAX_REGISTERED", 3)
    for i in range(5):
        register_secret(f"secret-number-{i}")
    assert "secret-number-0" in redact("secret-number-0")
    assert "secret-number-4" not in redact("secret-number-4")


def test_redact_obj_masks_secret_keys_and_strings() -> None:
    data = {
        "kind": "jira",
        "auth": {"type": "api_token", "email": "a@b.co", "api_token": CANARY},
        "headers": [("Authorization", f"Bearer {CANARY}")],
        "key": "PROJ",
        "secret": SecretStr(CANARY),
        "note": f"token={CANARY}",
        "count": 3,
    }
    out = redact_obj(data)
    assert CANARY not in repr(out)
    assert out["auth"]["email"] == "a@b.co" and out["key"] == "PROJ" and out["count"] == 3
    assert out["auth"]["api_token"] == MASK


@pytest.fixture
def log_stream() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    saved_factory = logging.getLogRecordFactory()
    logger = logging.getLogger("ferry.test.redaction")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s %(detail)s"))
    logger.addHandler(handler)
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        logging.setLogRecordFactory(saved_factory)


def test_canaries_never_reach_log_output(log_stream: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log_stream
    install_redaction(logger)
    install_redaction(logger)  # idempotent
    plain_canary = "plain-canary-without-pattern"
    register_secret(plain_canary)
    logger.info(
        "calling %s",
        f"https://api.trello.com/1/cards?key={CANARY}&token={CANARY}",
        extra={"detail": {"api_token": CANARY}},
    )
    logger.warning("decrypted value leaked: %s", plain_canary, extra={"detail": plain_canary})
    try:
        raise RuntimeError(f"vendor said: invalid access_token={CANARY}")
    except RuntimeError:
        logger.exception("call failed", extra={"detail": "-"})
    output = stream.getvalue()
    assert CANARY not in output and plain_canary not in output
    assert output.count(MASK) >= 5 and "vendor said" in output and "RuntimeError" in output


def test_handlers_added_later_get_redacted_records(log_stream: tuple[logging.Logger, io.StringIO]) -> None:
    logger, _ = log_stream
    install_redaction(logger)
    late = io.StringIO()
    handler = logging.StreamHandler(late)  # no filter: the record factory already redacted
    logger.addHandler(handler)
    try:
        logging.getLogger("ferry.test.redaction").error("Authorization: Bearer %s", CANARY)
        logging.getLogger("ferry.test.redaction.child").error("password=%s", CANARY)
    finally:
        logger.removeHandler(handler)
    assert CANARY not in late.getvalue() and late.getvalue().count(MASK) == 2


def test_filter_alone_redacts_and_never_drops() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token=%s", (CANARY,), None)
    record.client_secret = CANARY
    assert RedactingFilter().filter(record) is True
    assert CANARY not in record.getMessage() and record.client_secret == MASK


def _redact_slow(text: str) -> str:
    """``redact`` without its shortcut: every pattern on every text (the reference)."""
    known = redaction._known_pattern()
    if known is not None:
        text = known.sub(MASK, text)
    for pattern, replacement in redaction._PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def test_the_shortcut_for_plain_values_masks_exactly_what_every_pattern_would() -> None:
    """Issue 19: a value with none of the characters the patterns need skips them. Random
    texts built from secret-shaped and plain fragments redact the same either way."""
    import random

    register_secret(CANARY)
    fragments = [
        "card0042", "5f3a9c1e2b", "task.created", "2026-12-06T10:00:00Z", "2026-12-06T10:00:00.123+01:00",
        "Bearer abc.def-123", "basic dXNlcjpwYXNz", "token=s3cr3t", "api_key: xyz", '"password": "hunter2"',
        "?key=1&token=2", ";secret=x", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "ferry_" + "Ab1" * 14,
        "ferry_migration_chunk_id", "https://user:pa55@host.example/x", "Authorization: Basic x", "X-Api-Key=abc",
        CANARY, " ", ":", "=", "&", "?", ";", "\t", "\n", "-", "_", ".", "T10", "eyJ", "ferry_", "client_secret",
    ]  # fmt: skip
    rng = random.Random(19)
    for _ in range(4000):
        text = "".join(rng.choice(fragments) for _ in range(rng.randint(1, 5)))
        assert redact(text) == _redact_slow(text), text
    assert redact("2026-12-06T10:00:00Z") == "2026-12-06T10:00:00Z"
    assert redact("card0042") == "card0042" and redact(f"x{CANARY}y") == f"x{MASK}y"
