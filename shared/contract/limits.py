"""Documented vendor request limits, declared by connectors and enforced by the pacer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RateLimit(BaseModel):
    """``requests`` per ``per_seconds`` (token bucket), ``burst`` tokens, ``concurrency`` in flight.

    Example: Trello allows 100 requests / 10 s per token
    (https://developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits/) →
    ``RateLimit(requests=100, per_seconds=10, burst=10, concurrency=8)``.
    """

    model_config = ConfigDict(frozen=True)

    requests: float = Field(gt=0)
    per_seconds: float = Field(gt=0)
    burst: float | None = Field(default=None, gt=0)
    concurrency: int = Field(default=8, ge=1)
    #: Most requests one call may count as: a vendor's batch endpoint (Asana ``/batch``: 10
    #: actions, each counted against the limit as a request of its own). The pacer charges
    #: such a call its actions (``Pacer.call(cost=…)``).
    batch: int = Field(default=1, ge=1)

    @property
    def rate(self) -> float:
        """Sustained requests per second."""
        return self.requests / self.per_seconds

    @property
    def capacity(self) -> float:
        """Bucket size: ``burst`` or, by default, one second's worth (at least 1)."""
        return self.burst if self.burst is not None else max(1.0, self.rate)
