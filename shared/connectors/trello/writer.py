"""Writes canonical records into Trello (see ``capabilities.py`` for the adaptations)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from shared.connectors.kit.markers import fits, with_footer
from shared.connectors.kit.multipart import FilePart, multipart
from shared.connectors.trello.api_types import (
    TAttachment,
    TBoard,
    TCard,
    TCheckItem,
    TChecklist,
    TLabel,
    TList,
)
from shared.connectors.trello.capabilities import MAX_TEXT, trello_capabilities
from shared.connectors.trello.client import TrelloClient
from shared.connectors.trello.custom_fields import TrelloCustomFields
from shared.connectors.trello.mapping import (
    date_as_due,
    format_dt,
    match_in_order,
    pos_between,
    same_due,
    trello_color,
)
from shared.contract.connector import Adaptation, DestRefs, Written
from shared.contract.model import (
    Attachment,
    Checklist,
    Comment,
    Container,
    Kind,
    Label,
    Project,
    Record,
    Section,
    Task,
    UserRef,
)
from shared.contract.text import (
    FLATTENED_LINE,
    name_flattened_parent,
    name_nameless_label,
    unstack_comment_header,
)
from shared.errors import NotFoundError, SkippableItemError

DEFAULT_LIST = "Tasks"
#: the name of a checklist that has none in the source (Trello needs one)
DEFAULT_CHECKLIST = "Checklist"


def _need(value: str | None, what: str) -> str:
    if not value:
        raise SkippableItemError(f"Trello needs a destination {what}", status=400)
    return value


#: Stands for source position 0 (the first item of an Asana section, an empty Planner hint):
#: Trello takes "top", "bottom" or a *positive* number (written in plain decimals: the spec's
#: pattern has no exponent), and every other position a reader gives is at least 1/96
#: (Planner hints) or 1 (Asana); Trello's own positions are positive.
FIRST_POS = 0.001


def trello_pos(position: float) -> float:
    """The ``pos`` for an item at source ``position``: the position itself, so items written
    at once (the engine writes a page concurrently) still land in source order."""
    return position if position > 0 else FIRST_POS


def _with_footer(text: str, marker: str, note: str = "") -> str:
    return with_footer(text, marker, max_chars=MAX_TEXT, note=note)


class TrelloWriter:
    """``DestinationWriter`` (and ``RecordAdapter``) over the Trello REST API."""

    def __init__(self, client: TrelloClient) -> None:
        self.client = client
        self.capabilities = trello_capabilities()
        self._fields = TrelloCustomFields(client)
        self._default_list: dict[str, str] = {}
        self._default_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._people: dict[str, dict[str, str]] = {}
        self._board_members: dict[str, set[str]] = {}

    async def aclose(self) -> None:
        await self.client.aclose()

    async def whoami(self) -> UserRef:
        return await self.client.whoami()

    async def list_containers(self) -> list[Container]:
        return await self.client.list_containers()

    # -- RecordAdapter ---------------------------------------------------------------

    def adapt(self, kind: Kind, record: Record) -> tuple[Record, list[Adaptation]]:
        """Pure, Trello-specific adaptations (label colours and names; archived boards stay
        open)."""
        notes: list[Adaptation] = []
        if isinstance(record, Label):
            record, notes = name_nameless_label(record)
        if isinstance(record, Comment):
            record = unstack_comment_header(record)  # a second hop keeps the first header
        if isinstance(record, Label) and record.color and trello_color(record.color) != record.color:
            mapped = trello_color(record.color)
            notes.append(
                Adaptation(
                    kind=kind,
                    code="label.color_mapped",
                    message=f"colour {record.color!r} becomes {mapped!r}",
                    loss=mapped is None,
                )
            )
            record = record.model_copy(update={"color": mapped})
        if isinstance(record, Project) and record.archived:
            notes.append(
                Adaptation(
                    kind=kind,
                    code="project.left_open",
                    message="an archived source board is created open so its items can be written",
                )
            )
        return record, notes

    # -- helpers -----------------------------------------------------------------------

    async def _list_for(self, refs: DestRefs) -> str:
        if refs.section:
            return refs.section
        board = _need(refs.project, "board")
        if board not in self._default_list:
            # one look (and at most one create) per board in this process at a time: the
            # engine writes a page of cards at once
            async with self._default_locks[board]:
                if board not in self._default_list:
                    self._default_list[board] = await self._default_list_of(board)
        return self._default_list[board]

    async def _default_lists(self, board: str) -> list[TList]:
        lists = [TList.model_validate(x) for x in await self.client.get(f"/boards/{board}/lists", filter="open")]
        return [x for x in lists if x.name == DEFAULT_LIST and not x.closed]

    async def _default_list_of(self, board: str) -> str:
        """The board's list for cards without a section, created once across processes.

        Trello has no "create if absent", so writers in other processes (two deliveries of
        a chunk, or chunks of one scope once a lease has run out) may create one at the same
        time. They converge on one rule: the open list named ``DEFAULT_LIST`` with the
        smallest id. A writer that created one looks again *after* its create and, if its
        own list is not the smallest, archives it (it is still empty: nothing is placed
        before this check) and uses the smallest. Trello ids begin with their creation time,
        so a list created later has a larger id, and every writer that looks after its own
        create sees the first one made: they all choose it.
        """
        found = await self._default_lists(board)
        if found:
            return min(x.id for x in found)
        made = TList.model_validate(
            await self.client.post("/lists", json={"name": DEFAULT_LIST, "idBoard": board, "pos": "top"})
        )
        ids = {x.id for x in await self._default_lists(board)} | {made.id}
        winner = min(ids)
        if winner != made.id:
            await self.client.put(f"/lists/{made.id}", json={"closed": True})
        return winner

    async def _people_of(self, board: str) -> tuple[dict[str, str], set[str]]:
        """(e-mail → member id for members whose e-mail Trello shows us, all member ids)."""
        if board not in self._people:
            members = await self.client.get(f"/boards/{board}/members")
            me = await self.client.whoami()
            people = {m["email"].lower(): m["id"] for m in members if m.get("email")}
            if me.email and me.source_id and any(m["id"] == me.source_id for m in members):
                people[me.email.lower()] = me.source_id
            self._people[board] = people
            self._board_members[board] = {m["id"] for m in members}
        return self._people[board], self._board_members[board]

    async def _card_body(
        self, task: Task, refs: DestRefs, marker: str
    ) -> tuple[dict[str, Any], tuple[Adaptation, ...]]:
        board = _need(refs.project, "board")
        if refs.flattened_parent and FLATTENED_LINE in task.description:
            parent = await self.client.get(f"/cards/{refs.flattened_parent}", fields="name")
            task = task.model_copy(
                update={"description": name_flattened_parent(task.description, str(parent.get("name") or ""))}
            )
        people, on_board = await self._people_of(board)
        ids, missing = [], []
        for person in task.assignees:
            # by e-mail; or by id when source and destination are the same Trello
            member = people.get((person.email or "").lower()) or (
                person.source_id if person.source_id in on_board else None
            )
            if member:
                ids.append(member)
            else:
                missing.append(person.label())
        note = f"\n\nAssigned in the source: {', '.join(missing)}" if missing else ""
        notes: list[Adaptation] = []
        if missing:
            notes.append(
                Adaptation(
                    kind=Kind.TASK,
                    code="task.assignee_not_on_board",
                    message=f"not found among the board's members (named in "
                    f"the description instead): {', '.join(missing)}",
                )
            )
        desc = _with_footer(task.description, marker, note)
        if not fits(task.description, marker, max_chars=MAX_TEXT, note=note):
            notes.append(
                Adaptation(
                    kind=Kind.TASK,
                    code="task.description_cut_for_note",
                    message=f"description cut so the assignee note fits Trello's {MAX_TEXT} characters",
                    loss=True,
                )
            )
        due = format_dt(task.due_at) if task.due_at else (date_as_due(task.due_on) if task.due_on else None)
        return {
            "idList": await self._list_for(refs),
            "name": task.name[:MAX_TEXT],
            "desc": desc,
            "due": due,
            "start": date_as_due(task.start_on) if task.start_on else None,
            "dueComplete": task.completed,
            "idMembers": ids,
            "idLabels": [refs.labels[lab.source_id] for lab in task.labels if lab.source_id in refs.labels],
        }, tuple(notes)

    async def _sync_checklists(self, card_id: str, task: Task, existing: list[TChecklist]) -> None:
        """Bring the card's checklists and check items into line with ``task``.

        What is there already is paired by name, in order (``match_in_order``), and only
        the missing parts are written: a retry after a failed check item finishes the card
        without writing anything twice. Checklists the source no longer has are removed.
        """
        want = [(cl.name or DEFAULT_CHECKLIST, cl) for cl in task.checklists]
        have = sorted(existing, key=lambda c: c.pos)
        paired, extras = match_in_order([name for name, _ in want], [c.name for c in have])
        for extra in extras:
            await self.client.delete(f"/checklists/{have[extra].id}")
        prev: float | None = None
        for i, ((name, checklist), j) in enumerate(zip(want, paired, strict=True)):
            if j is not None:
                if await self._sync_items(card_id, have[j], checklist):
                    prev = have[j].pos
                    continue
                # items the source no longer has and Trello's API cannot remove one by one
                # here: the checklist is written again, in its place
                await self.client.delete(f"/checklists/{have[j].id}")
            after = next((have[k].pos for k in paired[i + 1 :] if k is not None), None)
            made = TChecklist.model_validate(
                await self.client.post(
                    f"/cards/{card_id}/checklists", json={"name": name, "pos": pos_between(prev, after)}
                )
            )
            prev = made.pos
            await self._sync_items(card_id, made, checklist)

    async def _sync_items(self, card_id: str, have: TChecklist, checklist: Checklist) -> bool:
        """Write the check items ``have`` misses and fix those that differ; False when it
        holds items the source does not (the caller writes the checklist again)."""
        items = sorted(have.checkItems, key=lambda x: x.pos)
        names = [item.name[:MAX_TEXT] for item in checklist.items]
        paired, extras = match_in_order(names, [x.name for x in items])
        if extras:
            if len(items) != len(names):
                return False
            paired = list(range(len(items)))  # as many items: renamed in place
        prev: float | None = None
        for i, (item, j) in enumerate(zip(checklist.items, paired, strict=True)):
            if j is None:
                after = next((items[k].pos for k in paired[i + 1 :] if k is not None), None)
                fields: dict[str, Any] = {"name": names[i], "checked": item.checked, "pos": pos_between(prev, after)}
                if item.due_on:
                    fields["due"] = date_as_due(item.due_on)
                made = TCheckItem.model_validate(
                    await self.client.post(f"/checklists/{have.id}/checkItems", json=fields)
                )
                prev = made.pos
                continue
            current = items[j]
            fix: dict[str, Any] = {}
            if current.name != names[i]:
                fix["name"] = names[i]
            if (current.state == "complete") != item.checked:
                fix["state"] = "complete" if item.checked else "incomplete"
            if not same_due(current.due, item.due_on):
                fix["due"] = date_as_due(item.due_on) if item.due_on else None
            if fix:
                await self.client.put(f"/cards/{card_id}/checkItem/{current.id}", json=fix)
            prev = current.pos
        return True

    # -- DestinationWriter -----------------------------------------------------------

    async def create(self, kind: Kind, record: Record, refs: DestRefs, marker: str) -> str | Written:
        """Create a board, list, label, card (with checklists) or comment."""
        if isinstance(record, Project):
            body: dict[str, Any] = {
                "name": record.name,
                "desc": _with_footer(record.description, marker),
                "defaultLists": False,
                "defaultLabels": False,
            }
            if refs.workspace:
                body["idOrganization"] = refs.workspace
            made = await self.client.post("/boards/", json=body)
            return str(made["id"])
        if isinstance(record, Section):
            made = await self.client.post(
                "/lists",
                json={"name": record.name, "idBoard": _need(refs.project, "board"), "pos": trello_pos(record.position)},
            )
            if record.archived:
                await self.client.put(f"/lists/{made['id']}", json={"closed": True})
            return str(made["id"])
        if isinstance(record, Label):
            record, _ = name_nameless_label(record)  # as adapt() did (callers may skip it)
            made = await self.client.post(
                "/labels",
                json={
                    "name": record.name,
                    "color": trello_color(record.color),
                    "idBoard": _need(refs.project, "board"),
                },
            )
            return str(made["id"])
        if isinstance(record, Task):
            body, notes = await self._card_body(record, refs, marker)
            body["pos"] = trello_pos(record.position)
            made = await self.client.post(
                "/cards",
                json={  # nothing to clear yet
                    k: v for k, v in body.items() if v is not None and v != []
                },
            )
            card_id = str(made["id"])
            try:
                if record.archived:
                    await self.client.put(f"/cards/{card_id}", json={"closed": True})
                await self._sync_checklists(card_id, record, [])
                notes += await self._fields.write(card_id, _need(refs.project, "board"), record)
            except BaseException:
                # A half-written card must not be found by its marker and taken as done:
                # remove it (best effort) so the engine's retry creates it whole.
                with contextlib.suppress(Exception):
                    await self.client.delete(f"/cards/{card_id}")
                raise
            return Written(dest_id=card_id, notes=notes) if notes else card_id
        if isinstance(record, Comment):
            made = await self.client.post(
                f"/cards/{_need(refs.task, 'card')}/actions/comments", json={"text": _with_footer(record.text, marker)}
            )
            return str(made["id"])
        raise SkippableItemError(f"create() does not write {kind}; use upload_attachment", status=400)

    async def update(self, kind: Kind, dest_id: str, record: Record, refs: DestRefs, marker: str) -> Written | None:
        """Overwrite migrated fields and finish a card's parts: its list and labels (in
        the card body), description with marker footer, checklists and check items (only
        the missing ones are written, so an update after any failed part completes it)."""
        if isinstance(record, Project):
            await self.client.put(
                f"/boards/{dest_id}", json={"name": record.name, "desc": _with_footer(record.description, marker)}
            )
        elif isinstance(record, Section):
            await self.client.put(f"/lists/{dest_id}", json={"name": record.name, "closed": record.archived})
        elif isinstance(record, Label):
            record, _ = name_nameless_label(record)
            await self.client.put(f"/labels/{dest_id}", json={"name": record.name, "color": trello_color(record.color)})
        elif isinstance(record, Task):
            body, notes = await self._card_body(record, refs, marker)
            body["closed"] = record.archived
            await self.client.put(f"/cards/{dest_id}", json=body)
            existing = [TChecklist.model_validate(x) for x in await self.client.get(f"/cards/{dest_id}/checklists")]
            await self._sync_checklists(dest_id, record, existing)
            notes += await self._fields.write(dest_id, _need(refs.project, "board"), record, update=True)
            return Written(dest_id=dest_id, notes=notes) if notes else None
        elif isinstance(record, Comment):
            await self.client.put(f"/actions/{dest_id}", json={"text": _with_footer(record.text, marker)})
        elif not isinstance(record, Attachment):  # attachments are immutable in Trello
            raise SkippableItemError(f"cannot update {kind}", status=400)
        return None

    async def find_by_marker(self, kind: Kind, marker: str, record: Record, refs: DestRefs) -> str | None:
        """By the ``[marker]`` footer (boards, cards, comments) or by natural key."""
        tag = f"[{marker}]"
        try:
            if kind is Kind.PROJECT:
                path = (
                    f"/organizations/{refs.workspace}/boards"
                    if refs.workspace
                    else f"/members/{(await self.whoami()).source_id}/boards"
                )
                boards = [
                    TBoard.model_validate(b) for b in await self.client.get(path, filter="all", fields="name,desc")
                ]
                return next((b.id for b in boards if tag in b.desc), None)
            if kind is Kind.TASK and refs.project:
                cards = [
                    TCard.model_validate(c)
                    for c in await self.client.get(f"/boards/{refs.project}/cards/all", fields="desc")
                ]
                return next((c.id for c in cards if tag in c.desc), None)
            if kind is Kind.COMMENT and refs.task:
                actions = await self.client.get(f"/cards/{refs.task}/actions", filter="commentCard", limit=1000)
                return next((a["id"] for a in actions if tag in a.get("data", {}).get("text", "")), None)
            if isinstance(record, Section) and refs.project:
                lists = [
                    TList.model_validate(x)
                    for x in await self.client.get(f"/boards/{refs.project}/lists", filter="all")
                ]
                same = sorted((x for x in lists if x.name == record.name), key=lambda x: x.closed)
                return same[0].id if same else None
            if isinstance(record, Label) and refs.project:
                record, _ = name_nameless_label(record)
                labels = [
                    TLabel.model_validate(x)
                    for x in await self.client.get(f"/boards/{refs.project}/labels", limit=1000)
                ]
                # Trello allows several labels of one name ("bug" red and "bug" orange are
                # two labels): a label is found by its name *and* colour, never by name alone
                color = trello_color(record.color)
                return next((x.id for x in labels if (x.name or "") == record.name and x.color == color), None)
            if isinstance(record, Attachment) and refs.task:
                atts = [TAttachment.model_validate(x) for x in await self.client.get(f"/cards/{refs.task}/attachments")]
                for att in atts:
                    hit = (
                        (att.url == record.url)
                        if record.is_link
                        else (
                            att.isUpload
                            and att.name == record.name
                            and (record.size is None or att.bytes == record.size)
                        )
                    )
                    if hit:
                        return f"{refs.task}:{att.id}"
        except NotFoundError:
            return None
        return None

    async def delete(self, kind: Kind, dest_id: str) -> None:
        """Idempotent. Lists cannot be deleted in Trello, so they are archived."""
        if kind is Kind.PROJECT:
            await self.client.delete(f"/boards/{dest_id}")
        elif kind is Kind.SECTION:
            try:
                await self.client.put(f"/lists/{dest_id}", json={"closed": True})
            except NotFoundError:
                return
        elif kind is Kind.LABEL:
            await self.client.delete(f"/labels/{dest_id}")
        elif kind is Kind.TASK:
            await self.client.delete(f"/cards/{dest_id}")
        elif kind is Kind.COMMENT:
            await self.client.delete(f"/actions/{dest_id}")
        elif kind is Kind.ATTACHMENT:
            card, _, att = dest_id.partition(":")
            await self.client.delete(f"/cards/{card}/attachments/{att}")

    async def upload_attachment(
        self, record: Attachment, refs: DestRefs, marker: str, chunks: AsyncIterator[bytes] | None
    ) -> str:
        """A link (``chunks`` None) or a streamed multipart upload; id is ``card:attachment``."""
        card = _need(refs.task, "card")
        if chunks is None:
            if not record.url:
                raise SkippableItemError("a link attachment needs a URL", status=400)
            made = await self.client.post(
                f"/cards/{card}/attachments", json={"url": record.url, "name": record.name[:256]}
            )
            return f"{card}:{made['id']}"
        mime = record.mime_type or "application/octet-stream"
        name = record.name[:256] or "file"
        # Trello reads the name and type from form fields too (the file part's name is kept
        # as sent: HTML form encoding)
        form = multipart({"name": name, "mimeType": mime}, FilePart(name, mime, chunks, record.size))
        made = await self.client.upload(f"/cards/{card}/attachments", form.body, form.content_type, form.length)
        return f"{card}:{made['id']}"
