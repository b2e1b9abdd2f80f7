"""What one GraphQL request's resolvers share (``info.context``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulators.monday.store import MondayStore, User


@dataclass
class Charge:
    """The complexity of this request and the budget around it (the ``complexity`` field)."""

    query: int = 0
    before: int = 0
    after: int = 0
    reset_in_x_seconds: int = 0


@dataclass
class RequestContext:
    store: MondayStore
    user: User
    base_url: str
    cursors: Any  # paging.CursorBook
    signer: Any  # files.UrlSigner
    charge: Charge = field(default_factory=Charge)
