"""Reader cursors: compact JSON objects, validated on the way back in.

A cursor travels in a queue message (at most ``MAX_CURSOR_CHARS``) and comes back to the
reader that wrote it, possibly after a deploy. Anything that does not decode to the shape
the reader expects is ``InvalidCursor``: the chunk cannot continue from it, and the run
fails with that reason rather than reading from an arbitrary place (which could skip or
repeat records). One class for every vendor, so the engine sees one kind of failure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from shared.contract.connector import MAX_CURSOR_CHARS
from shared.errors import FatalRunError


class InvalidCursor(FatalRunError):
    """A cursor this reader did not write (or no longer understands)."""

    slug = "invalid-cursor"


M = TypeVar("M", bound=BaseModel)


class CursorCodec(Generic[M]):
    """``encode``/``decode`` of a reader's cursor state.

    With a pydantic ``model`` the state is validated (unknown fields refused, types checked);
    without one any JSON object is accepted.
    """

    def __init__(self, vendor: str, model: type[M] | None = None) -> None:
        self.vendor = vendor
        self.model = model

    def encode(self, state: Mapping[str, Any] | BaseModel | None) -> str | None:
        """The cursor for ``state`` (None stays None: the listing is done)."""
        if state is None:
            return None
        data = state.model_dump(mode="json", exclude_defaults=True) if isinstance(state, BaseModel) else dict(state)
        text = json.dumps(data, separators=(",", ":"), sort_keys=True)
        if len(text) > MAX_CURSOR_CHARS:
            # A bug, not bad input: the reader keeps too much in its cursor.
            raise ValueError(f"{self.vendor} cursor of {len(text)} characters is too long")
        return text

    def decode(self, cursor: str | None) -> dict[str, Any]:
        """The state in ``cursor`` ({} for None, the start)."""
        if not cursor:
            return {}
        try:
            data = json.loads(cursor)
        except ValueError as exc:
            raise InvalidCursor(f"{self.vendor}: the cursor is not one this reader wrote") from exc
        if not isinstance(data, dict):
            raise InvalidCursor(f"{self.vendor}: the cursor is not one this reader wrote")
        if self.model is not None:
            try:
                self.model.model_validate(data)
            except ValidationError as exc:
                raise InvalidCursor(
                    f"{self.vendor}: the cursor does not fit this reader ({exc.error_count()} problems)"
                ) from exc
        return data

    def load(self, cursor: str | None) -> M:
        """The ``model`` instance in ``cursor`` (its defaults for None)."""
        if self.model is None:
            raise TypeError("CursorCodec.load needs a model")
        return self.model.model_validate(self.decode(cursor))
