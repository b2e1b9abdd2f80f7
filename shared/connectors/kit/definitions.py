"""Define a shared thing once, when several workers may define it at the same moment.

Custom field definitions, their options, labels, lists: a chunk that needs one looks it up
and creates it if missing, and a chunk of another scope may do the same at once. Vendors
either refuse the second create (Asana: a workspace field name is unique → 400) or accept
it (Trello: two fields of one name). Both end with one definition used by everybody:

* refused → list again and take the one that exists;
* accepted → list again, every worker keeps the same one (the smallest id, ``order``), and a
  worker whose own definition lost deletes it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from shared.errors import SkippableItemError

T = TypeVar("T")


async def define_once(
    *,
    listing: Callable[[bool], Awaitable[Sequence[T]]],
    matches: Callable[[T], bool],
    create: Callable[[], Awaitable[T]],
    order: Callable[[T], Any],
    identity: Callable[[T], Any],
    delete: Callable[[T], Awaitable[None]] | None = None,
) -> T:
    """The one definition ``matches`` selects, created if there is none.

    ``listing(fresh)`` lists the definitions (``fresh=False`` may answer from a cache);
    ``delete`` is given for vendors that accept duplicates: a created definition that is not
    the winner after listing again is deleted (idempotently).
    """
    for fresh in (False, True):
        same = [d for d in await listing(fresh) if matches(d)]
        if same:
            return min(same, key=order)
    try:
        made = await create()
    except SkippableItemError:
        # Refused: usually another worker defined it a moment ago.
        same = [d for d in await listing(True) if matches(d)]
        if same:
            return min(same, key=order)
        raise
    if delete is None:
        return made
    same = [d for d in await listing(True) if matches(d)]
    winner = min([*same, made], key=order)
    if identity(winner) != identity(made):
        await delete(made)
    return winner
