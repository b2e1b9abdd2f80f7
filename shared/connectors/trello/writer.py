"""Writes canonical records into Trello (see ``capabilities.py`` for the adaptations)."""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from shared.connectors.base import Adaptation, DestRefs, Written, marker_footer
from shared.connectors.trello.api_types import TAttachment, TBoard, TCard, TLabel, TList
from shared.connectors.trello.capabilities import MAX_TEXT, trello_capabilities
from shared.connectors.trello.client import TrelloClient
from shared.connectors.trello.mapping import date_as_due, format_dt, trello_color
from shared.connectors.trello.reader import TrelloReader
from shared.engine.model import (
    Attachment,
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
from shared.errors import NotFoundError, SkippableItemError

DEFAULT_LIST = "Tasks"


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
    """``text`` + optional note + marker footer, cut so the whole fits Trello's limit."""
    footer = marker_footer(marker)
    room = MAX_TEXT - len(footer) - len(note)
    return text[:max(0, room)] + note + footer


class TrelloWriter:
    """``DestinationWriter`` (and ``RecordAdapter``) over the Trello REST API."""

    def __init__(self, client: TrelloClient) -> None:
        self.client = client
        self.capabilities = trello_capabilities()
        self._reader = TrelloReader(client)
        self._default_list: dict[str, str] = {}
        self._people: dict[str, dict[str, str]] = {}
        self._board_members: dict[str, set[str]] = {}

    async def aclose(self) -> None:
        await self.client.aclose()

    async def whoami(self) -> UserRef:
        return await self._reader.whoami()

    async def list_containers(self) -> list[Container]:
        return await self._reader.list_containers()

    # -- RecordAdapter ---------------------------------------------------------------

    def adapt(self, kind: Kind, record: Record) -> tuple[Record, list[Adaptation]]:
        """Pure, Trello-specific adaptations (label colours; archived boards stay open)."""
        notes: list[Adaptation] = []
        if isinstance(record, Label) and record.color and \
                trello_color(record.color) != record.color:
            mapped = trello_color(record.color)
            notes.append(Adaptation(kind=kind, code="label.color_mapped",
                                    message=f"colour {record.color!r} becomes {mapped!r}",
                                    loss=mapped is None))
            record = record.model_copy(update={"color": mapped})
        if isinstance(record, Project) and record.archived:
            notes.append(Adaptation(kind=kind, code="project.left_open",
                                    message="an archived source board is created open so "
                                            "its items can be written"))
        return record, notes

    # -- helpers -----------------------------------------------------------------------

    async def _list_for(self, refs: DestRefs) -> str:
        if refs.section:
            return refs.section
        board = _need(refs.project, "board")
        if board not in self._default_list:
            lists = [TList.model_validate(x) for x in
                     await self.client.get(f"/boards/{board}/lists", filter="open")]
            found = next((x.id for x in lists if x.name == DEFAULT_LIST), None)
            if found is None:
                made = await self.client.post("/lists", json={"name": DEFAULT_LIST,
                                                              "idBoard": board, "pos": "top"})
                found = made["id"]
            self._default_list[board] = found
        return self._default_list[board]

    async def _people_of(self, board: str) -> tuple[dict[str, str], set[str]]:
        """(e-mail → member id for members whose e-mail Trello shows us, all member ids)."""
        if board not in self._people:
            members = await self.client.get(f"/boards/{board}/members")
            me = await self._reader.whoami()
            people = {m["email"].lower(): m["id"] for m in members if m.get("email")}
            if me.email and me.source_id and any(m["id"] == me.source_id for m in members):
                people[me.email.lower()] = me.source_id
            self._people[board] = people
            self._board_members[board] = {m["id"] for m in members}
        return self._people[board], self._board_members[board]

    async def _card_body(self, task: Task, refs: DestRefs,
                         marker: str) -> tuple[dict[str, Any], tuple[Adaptation, ...]]:
        board = _need(refs.project, "board")
        people, on_board = await self._people_of(board)
        ids, missing = [], []
        for person in task.assignees:
            # by e-mail; or by id when source and destination are the same Trello
            member = people.get((person.email or "").lower()) or (
                person.source_id if person.source_id in on_board else None)
            if member:
                ids.append(member)
            else:
                missing.append(person.label())
        note = f"\n\nAssigned in the source: {', '.join(missing)}" if missing else ""
        notes: list[Adaptation] = []
        if missing:
            notes.append(Adaptation(kind=Kind.TASK, code="task.assignee_not_on_board",
                                    message=f"not found among the board's members (named in "
                                            f"the description instead): {', '.join(missing)}"))
        desc = _with_footer(task.description, marker, note)
        if len(task.description) + len(note) + len(marker_footer(marker)) > MAX_TEXT:
            notes.append(Adaptation(kind=Kind.TASK, code="task.description_cut_for_note",
                                    message=f"description cut so the assignee note fits "
                                            f"Trello's {MAX_TEXT} characters", loss=True))
        due = format_dt(task.due_at) if task.due_at else (
            date_as_due(task.due_on) if task.due_on else None)
        return {
            "idList": await self._list_for(refs), "name": task.name[:MAX_TEXT],
            "desc": desc, "due": due,
            "start": date_as_due(task.start_on) if task.start_on else None,
            "dueComplete": task.completed, "idMembers": ids,
            "idLabels": [refs.labels[lab.source_id] for lab in task.labels
                         if lab.source_id in refs.labels],
        }, tuple(notes)

    async def _write_checklists(self, card_id: str, task: Task) -> None:
        for checklist in task.checklists:
            made = await self.client.post(f"/cards/{card_id}/checklists",
                                          json={"name": checklist.name or "Checklist"})
            for item in checklist.items:
                fields: dict[str, Any] = {"name": item.name[:MAX_TEXT],
                                          "checked": item.checked, "pos": "bottom"}
                if item.due_on:
                    fields["due"] = date_as_due(item.due_on)
                await self.client.post(f"/checklists/{made['id']}/checkItems", json=fields)

    # -- DestinationWriter -----------------------------------------------------------

    async def create(self, kind: Kind, record: Record, refs: DestRefs,
                     marker: str) -> str | Written:
        """Create a board, list, label, card (with checklists) or comment."""
        if isinstance(record, Project):
            body: dict[str, Any] = {
                "name": record.name, "desc": _with_footer(record.description, marker),
                "defaultLists": False, "defaultLabels": False}
            if refs.workspace:
                body["idOrganization"] = refs.workspace
            made = await self.client.post("/boards/", json=body)
            return str(made["id"])
        if isinstance(record, Section):
            made = await self.client.post("/lists", json={
                "name": record.name, "idBoard": _need(refs.project, "board"),
                "pos": trello_pos(record.position)})
            if record.archived:
                await self.client.put(f"/lists/{made['id']}", json={"closed": True})
            return str(made["id"])
        if isinstance(record, Label):
            made = await self.client.post("/labels", json={
                "name": record.name, "color": trello_color(record.color),
                "idBoard": _need(refs.project, "board")})
            return str(made["id"])
        if isinstance(record, Task):
            body, notes = await self._card_body(record, refs, marker)
            body["pos"] = trello_pos(record.position)
            made = await self.client.post("/cards", json={    # nothing to clear yet
                k: v for k, v in body.items() if v is not None and v != []})
            card_id = str(made["id"])
            try:
                if record.archived:
                    await self.client.put(f"/cards/{card_id}", json={"closed": True})
                await self._write_checklists(card_id, record)
            except BaseException:
                # A half-written card must not be found by its marker and taken as done:
                # remove it (best effort) so the engine's retry creates it whole.
                with contextlib.suppress(Exception):
                    await self.client.delete(f"/cards/{card_id}")
                raise
            return Written(dest_id=card_id, notes=notes) if notes else card_id
        if isinstance(record, Comment):
            made = await self.client.post(
                f"/cards/{_need(refs.task, 'card')}/actions/comments",
                json={"text": _with_footer(record.text, marker)})
            return str(made["id"])
        raise SkippableItemError(f"create() does not write {kind}; use upload_attachment",
                                 status=400)

    async def update(self, kind: Kind, dest_id: str, record: Record, refs: DestRefs,
                     marker: str) -> Written | None:
        """Overwrite migrated fields; a card's checklists are replaced."""
        if isinstance(record, Project):
            await self.client.put(f"/boards/{dest_id}", json={
                "name": record.name, "desc": _with_footer(record.description, marker)})
        elif isinstance(record, Section):
            await self.client.put(f"/lists/{dest_id}", json={"name": record.name,
                                                             "closed": record.archived})
        elif isinstance(record, Label):
            await self.client.put(f"/labels/{dest_id}", json={
                "name": record.name, "color": trello_color(record.color)})
        elif isinstance(record, Task):
            body, notes = await self._card_body(record, refs, marker)
            body["closed"] = record.archived
            await self.client.put(f"/cards/{dest_id}", json=body)
            for old in await self.client.get(f"/cards/{dest_id}/checklists"):
                await self.client.delete(f"/checklists/{old['id']}")
            await self._write_checklists(dest_id, record)
            return Written(dest_id=dest_id, notes=notes) if notes else None
        elif isinstance(record, Comment):
            await self.client.put(f"/actions/{dest_id}",
                                  json={"text": _with_footer(record.text, marker)})
        elif not isinstance(record, Attachment):   # attachments are immutable in Trello
            raise SkippableItemError(f"cannot update {kind}", status=400)
        return None

    async def find_by_marker(self, kind: Kind, marker: str, record: Record,
                             refs: DestRefs) -> str | None:
        """By the ``[marker]`` footer (boards, cards, comments) or by natural key."""
        tag = f"[{marker}]"
        try:
            if kind is Kind.PROJECT:
                path = (f"/organizations/{refs.workspace}/boards" if refs.workspace
                        else f"/members/{(await self.whoami()).source_id}/boards")
                boards = [TBoard.model_validate(b) for b in
                          await self.client.get(path, filter="all", fields="name,desc")]
                return next((b.id for b in boards if tag in b.desc), None)
            if kind is Kind.TASK and refs.project:
                cards = [TCard.model_validate(c) for c in await self.client.get(
                    f"/boards/{refs.project}/cards/all", fields="desc")]
                return next((c.id for c in cards if tag in c.desc), None)
            if kind is Kind.COMMENT and refs.task:
                actions = await self.client.get(f"/cards/{refs.task}/actions",
                                                filter="commentCard", limit=1000)
                return next((a["id"] for a in actions
                             if tag in a.get("data", {}).get("text", "")), None)
            if isinstance(record, Section) and refs.project:
                lists = [TList.model_validate(x) for x in await self.client.get(
                    f"/boards/{refs.project}/lists", filter="all")]
                same = sorted((x for x in lists if x.name == record.name), key=lambda x: x.closed)
                return same[0].id if same else None
            if isinstance(record, Label) and refs.project:
                labels = [TLabel.model_validate(x) for x in await self.client.get(
                    f"/boards/{refs.project}/labels", limit=1000)]
                # Trello allows several labels of one name: prefer the same colour too.
                named = [x for x in labels if x.name == record.name]
                exact = [x for x in named if x.color == trello_color(record.color)]
                return (exact or named)[0].id if named else None
            if isinstance(record, Attachment) and refs.task:
                atts = [TAttachment.model_validate(x) for x in
                        await self.client.get(f"/cards/{refs.task}/attachments")]
                for att in atts:
                    hit = (att.url == record.url) if record.is_link else (
                        att.isUpload and att.name == record.name
                        and (record.size is None or att.bytes == record.size))
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

    async def upload_attachment(self, record: Attachment, refs: DestRefs, marker: str,
                                chunks: AsyncIterator[bytes] | None) -> str:
        """A link (``chunks`` None) or a streamed multipart upload; id is ``card:attachment``."""
        card = _need(refs.task, "card")
        if chunks is None:
            if not record.url:
                raise SkippableItemError("a link attachment needs a URL", status=400)
            made = await self.client.post(f"/cards/{card}/attachments",
                                          json={"url": record.url, "name": record.name[:256]})
            return f"{card}:{made['id']}"
        boundary = uuid.uuid4().hex
        mime = record.mime_type or "application/octet-stream"
        head, tail = _multipart_frame(boundary, record.name[:256] or "file", mime)
        length = len(head) + record.size + len(tail) if record.size is not None else None

        async def body() -> AsyncIterator[bytes]:
            yield head
            async for part in chunks:
                yield part
            yield tail

        made = await self.client.upload(f"/cards/{card}/attachments", body(),
                                        f"multipart/form-data; boundary={boundary}", length)
        return f"{card}:{made['id']}"


def _multipart_frame(boundary: str, name: str, mime: str) -> tuple[bytes, bytes]:
    """Bytes before and after the file content of a ``multipart/form-data`` body."""
    quoted = name.replace("\\", "\\\\").replace('"', "%22").replace("\r", " ").replace("\n", " ")
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n"
            f"{name}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"mimeType\"\r\n\r\n"
            f"{mime}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{quoted}\"\r\nContent-Type: {mime}\r\n\r\n")
    return head.encode(), f"\r\n--{boundary}--\r\n".encode()
