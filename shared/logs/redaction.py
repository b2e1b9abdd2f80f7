"""Mask secrets in log text and structured log fields.

Two mechanisms, both applied by `redact`:

1. Patterns: `Authorization`/`Cookie`/`X-Api-Key` header values, bearer and basic
   credentials, JWTs, Ferry API keys (`ferry_...`), query or form parameters and
   `name=value` / `"name": "value"` pairs whose name says secret (`key`, `token`,
   `password`, `client_secret`, `api_token`, `access_token`, `refresh_token`, `pat`, ...).
2. Known values: `register_secret(value)` remembers a concrete secret (the vault registers
   every value it decrypts), masked verbatim wherever it appears, even without a pattern.

How it is wired (`install_redaction`):

* a LogRecord factory (`logging.setLogRecordFactory`) redacts message, arguments,
  exception text and stack info of every record at creation, so every handler, present
  or added later, on any logger, only ever sees redacted text;
* a `RedactingFilter` on every handler already attached to the given logger additionally
  redacts structured `extra=` fields (those are set on the record after the factory ran).
  Code that adds a handler later and logs secrets in `extra` fields should call
  `install_redaction()` again (idempotent) or add `RedactingFilter()` to that handler.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

MASK = "***"
#: shorter registered values are ignored: masking "abc" everywhere would ruin every log
MIN_SECRET_LENGTH = 6
MAX_REGISTERED = 10_000

# Field names whose value is a secret in any context (JSON, reprs, text, headers, query):
# anything ending in one of these words, `-`/`_` and case ignored.
_SECRET_SUFFIX_RE = re.compile(
    r"(?i)(?:password|passwd|passphrase|pwd|secret|token|apikey|api[_-]key|accesskey"
    r"|access[_-]key|privatekey|private[_-]key|credentials?|authorization|cookie"
    r"|x-functions-key)$"
)
# ...except these, which are pagination cursors or counters, not credentials.
_NOT_SECRET = frozenset(
    {
        "nextpagetoken",
        "next_page_token",
        "pagetoken",
        "page_token",
        "continuationtoken",
        "continuation_token",
        "x-ms-continuationtoken",
        "synctoken",
        "sync_token",
        "max_tokens",
        "total_tokens",
        "prompt_tokens",
        "completion_tokens",
        "csrf_token_name",
    }
)
# Short names that are secrets wherever they appear (`pat`: Azure DevOps personal access
# token, the field name in shared/connectors/settings.py).
_EXACT_SECRET_NAMES = frozenset({"pat", "client_assertion", "sas", "private_key_pem"})
# Short names that are secrets only as query or form parameters (`key` is also a
# Jira project field, `code` a status, so they are not masked in JSON or text).
_QUERY_ONLY = r"key|token|code|sig|signature|pat|password|client_secret|api_token|apikey"
_HEADER_NAMES = (
    r"(?:proxy-)?authorization|cookie|set-cookie|x-api-key|api-key|x-functions-key"
    r"|x-ferry-key"
)


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """True when a field, parameter or header called `name` holds a secret.

    Remembered per name: a run log asks it of the same few field names on every line."""
    lowered = name.lower()
    if lowered in _EXACT_SECRET_NAMES:
        return True
    return lowered not in _NOT_SECRET and bool(_SECRET_SUFFIX_RE.search(lowered))


def _mask_pair(match: re.Match[str]) -> str:
    if not is_secret_name(match["name"]) or (match["val"] or match["qval"]) == MASK:
        return match[0]
    if match["quote"]:
        return f"{match['prefix']}{match['quote']}{MASK}{match['quote']}"
    return f"{match['prefix']}{MASK}"


def _mask_credential(match: re.Match[str]) -> str:
    token = match["cred"]
    # spare ordinary words after "basic"/"bearer" ("basic information"); real
    # credentials are long or contain digits / base64 punctuation
    if len(token.rstrip("=")) < 16 and token.rstrip("=").isalpha():
        return match[0]
    return f"{match['scheme']} {MASK}"


_PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # Header lines and header dict entries: mask the whole value up to quote / line end.
    (re.compile(rf"(?i)(\b(?:{_HEADER_NAMES})[\"']?\s*[:=]\s*[\"']?)(?!\*\*\*)[^\"'\r\n]+"), rf"\g<1>{MASK}"),
    # Bearer / Basic credentials anywhere.
    (re.compile(r"(?i)\b(?P<scheme>bearer|basic)\s+(?P<cred>[A-Za-z0-9\-._~+/]+=*)"), _mask_credential),
    # JSON Web Tokens (header.payload.signature; the header is base64 of '{"').
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    # Ferry organisation API keys (shared/identity/apikeys.py: ferry_ + 42 base62 chars,
    # masked whatever the checksum), and anything key-like after the marker; the
    # lookahead spares identifiers such as ferry_migration_chunk_id.
    (re.compile(r"(?<![0-9A-Za-z_])ferry_[0-9A-Za-z]{42}(?![0-9A-Za-z_])"), MASK),
    (re.compile(r"\bferry_(?=[\w-]*[A-Z0-9])[\w-]{16,}"), MASK),
    # Query and form parameters: ?key=..&token=..
    (re.compile(rf"(?i)([?&;](?:{_QUERY_ONLY})=)(?!\*\*\*)[^&\s#\"'<>]+"), rf"\g<1>{MASK}"),
    # name=value / name: value / "name": "value" with a secret-looking name.
    (
        re.compile(
            r"(?P<prefix>[\"']?(?<![\w-])(?P<name>[A-Za-z_][\w-]*)[\"']?\s*[:=]\s*)"
            r"(?:(?P<quote>[\"'])(?P<qval>[^\"'\r\n]*)(?P=quote)"
            r"|(?P<val>[^\"'&\s,;}\])#]+))"
        ),
        _mask_pair,
    ),
    # Credentials in URLs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+@"), rf"\g<1>{MASK}@"),
]

_lock = threading.Lock()
_known: OrderedDict[str, None] = OrderedDict()
_known_re: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Remember a concrete secret value so `redact` masks it verbatim (and URL-encoded).

    Values shorter than MIN_SECRET_LENGTH are ignored. The registry keeps the newest
    MAX_REGISTERED values.
    """
    global _known_re
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    forms = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
    with _lock:
        changed = False
        for form in forms:
            if form in _known:
                _known.move_to_end(form)  # recently used: evicted last
            else:
                _known[form] = None
                changed = True
        while len(_known) > MAX_REGISTERED:
            _known.popitem(last=False)
        if changed:  # the vault re-registers on every decrypt: recompile only when new
            _known_re = None


def forget_secret(value: str) -> None:
    """Stop masking a registered value (e.g. after its connector was deleted)."""
    global _known_re
    with _lock:
        for form in {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}:
            _known.pop(form, None)
        _known_re = None


def clear_registered_secrets() -> None:
    """Forget every registered value (tests)."""
    global _known_re
    with _lock:
        _known.clear()
        _known_re = None


def _known_pattern() -> re.Pattern[str] | None:
    global _known_re
    pattern = _known_re  # one reference read: the lock is for building it, not for using it
    if pattern is not None or not _known:
        return pattern
    with _lock:
        if _known_re is None and _known:
            # longest first, so a secret containing another is masked whole
            alternatives = sorted(_known, key=len, reverse=True)
            _known_re = re.compile("|".join(re.escape(v) for v in alternatives))
        return _known_re


#: What every one of ``_PATTERNS`` needs to match: a separator (``:`` ``=`` ``?`` ``&`` ``;``),
#: whitespace, a JWT's ``eyJ`` or a Ferry key's ``ferry_``. Text without any (ids, codes,
#: counters: most of a run log line's values) cannot match them, so it skips the eight
#: regular expressions (issue 19: redaction was ~6 % of a worker's CPU); registered secrets
#: are still masked in it.
_ANY_PATTERN_NEEDS = re.compile(r"[:=?&;\s]|eyJ|ferry_")
#: An ISO timestamp matches only ``name: value`` with the name ``T`` + digits, never a
#: secret's name: it skips the patterns too.
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)?")


def redact(text: str) -> str:
    """Return `text` with every recognisable or registered secret replaced by `***`."""
    if not text:
        return text
    known = _known_pattern()
    if known is not None:
        text = known.sub(MASK, text)
    if not _ANY_PATTERN_NEEDS.search(text) or _TIMESTAMP.fullmatch(text):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_obj(obj: Any) -> Any:
    """Redacted copy of a JSON-like value: secret-named keys masked, strings redacted.

    Dicts, lists, tuples and sets are copied recursively; other values pass unchanged
    (pydantic `SecretStr` already renders as `**********`).
    """
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {
            k: (
                MASK
                if isinstance(k, str)
                and is_secret_name(k)
                and obj[k] is not None
                and not isinstance(obj[k], (dict, list, bool))
                else redact_obj(obj[k])
            )
            for k in obj
        }
    if isinstance(obj, (list, tuple, set, frozenset)):
        return type(obj)(redact_obj(v) for v in obj)
    if isinstance(obj, bytes):
        return redact(obj.decode("utf-8", "replace"))
    return obj


# --- logging wiring -----------------------------------------------------------------

_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "_ferry_redacted",
}


def _redact_record_text(record: logging.LogRecord) -> None:
    """Freeze the formatted message, exception and stack text in redacted form."""
    try:
        message = record.getMessage()
    except Exception:
        return
    record.msg = redact(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactingFilter(logging.Filter):
    """Handler filter: redacts message, exception, stack and `extra=` fields; never drops."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "_ferry_redacted", False):
            _redact_record_text(record)
            record._ferry_redacted = True
        for name, value in list(record.__dict__.items()):
            if name in _STANDARD_ATTRS:
                continue
            if is_secret_name(name) and isinstance(value, (str, bytes)):
                setattr(record, name, MASK)
            elif isinstance(value, (str, bytes, dict, list, tuple)):
                setattr(record, name, redact_obj(value))
        return True


_factory_lock = threading.Lock()
_installed_factory: Callable[..., logging.LogRecord] | None = None


def _install_factory() -> None:
    global _installed_factory
    with _factory_lock:
        current = logging.getLogRecordFactory()
        if current is _installed_factory:
            return
        inner = current

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = inner(*args, **kwargs)
            _redact_record_text(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed_factory = factory


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Redact everything `logger` (default: root) and every other logger emits.

    Installs the redacting LogRecord factory (covers all handlers, also ones added
    later) and a `RedactingFilter` on each handler of `logger` (adds `extra=` fields).
    Idempotent.
    """
    _install_factory()
    target = logger if logger is not None else logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
