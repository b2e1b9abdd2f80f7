"""One error hierarchy for the core.

Exactly one place maps these to HTTP problems (functions/http_api/problems.py) and one
to queue outcomes (the migration worker). Add a type only when a caller acts differently.
"""

from __future__ import annotations


class FerryError(Exception):
    """Base of every error the core raises on purpose."""

    #: stable problem type slug, used in problem+json `type`
    slug = "internal"
    status = 500
    title = "Internal error"

    def __init__(self, detail: str = "", **extra: object) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class ConfigError(FerryError):
    slug = "configuration"
    title = "Invalid configuration"


class NotFoundError(FerryError):
    slug = "not-found"
    status = 404
    title = "Not found"


class ConflictError(FerryError):
    """A state change lost an optimistic-concurrency race or violates uniqueness."""

    slug = "conflict"
    status = 409
    title = "Conflict"


class LimitExceededError(ConflictError):
    """A create would pass a documented count limit (connectors, keys… per org)."""

    slug = "limit-exceeded"
    title = "Limit reached"


class ValidationFailed(FerryError):
    slug = "validation"
    status = 422
    title = "Invalid request"


class AuthenticationError(FerryError):
    slug = "unauthenticated"
    status = 401
    title = "Authentication required"


class PermissionDeniedError(FerryError):
    slug = "forbidden"
    status = 403
    title = "Forbidden"


class TooManyRequestsError(FerryError):
    slug = "too-many-requests"
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str = "", retry_after: float = 1.0) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


# --- remote (vendor) call outcomes, classified by connectors, acted on by the pacer/engine ---


class RemoteError(FerryError):
    slug = "remote"
    status = 502
    title = "Remote service error"


class TransientError(RemoteError):
    """5xx, dropped connection, timeout: worth retrying with backoff."""

    slug = "remote-transient"


class ThrottledError(TransientError):
    """The vendor said slow down (429 or 503 with Retry-After)."""

    slug = "remote-throttled"
    status = 503

    def __init__(self, detail: str = "", retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class AuthRequiredError(RemoteError):
    """Credentials were refused: the run pauses with a 'reconnect' reason."""

    slug = "remote-auth"
    status = 424
    title = "Connector credentials were refused"


class SkippableItemError(RemoteError):
    """One item cannot be moved (4xx for that item, mapping failure): it fails alone."""

    slug = "item-failed"
    status = 422
    title = "Item could not be migrated"


class FatalRunError(RemoteError):
    """Nothing further in this run can succeed."""

    slug = "run-failed"
    status = 500
    title = "Run failed"


class UnsafeDestinationError(FerryError):
    """The SSRF guard refused an outbound address."""

    slug = "unsafe-destination"
    status = 422
    title = "Destination address not allowed"
