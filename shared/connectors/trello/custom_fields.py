"""Trello Custom Fields: read into ``Task.custom_fields``, written back natively.

Definitions belong to one board (``GET /1/boards/{id}/customFields``); a card's values come
with ``customFieldItems=true`` on card reads and are set one field at a time with
``PUT /1/cards/{idCard}/customField/{idCustomField}/item``
(https://developer.atlassian.com/cloud/trello/guides/rest-api/getting-started-with-custom-fields/).
Numbers, dates and checkboxes travel as strings (``{"number": "2154"}``, ``{"checked": "true"}``);
list fields hold an option id (``idValue``).

Writing, the destination board gets one definition per source field name and type, created
the first time a card needs it. Two workers may create the same definition at once: each one
then lists the board again, keeps the definition of that name and type with the smallest id
(both pick the same one) and deletes its own if it lost, so a board ends with one. Options of
list fields are added the same way. Canonical types Trello lacks are written as text
(``task.custom_field_as_text``: multi-select and people fields); a field that cannot be
defined (Trello allows 50 per board) is reported lost (``task.custom_field_dropped``).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.connectors.kit.definitions import define_once
from shared.connectors.trello.client import TrelloClient
from shared.contract.connector import Adaptation
from shared.contract.model import CustomFieldType, CustomFieldValue, Kind, Task, content_version
from shared.errors import SkippableItemError

#: canonical type → the Trello field type that holds it natively
TRELLO_TYPES: dict[CustomFieldType, str] = {
    CustomFieldType.TEXT: "text",
    CustomFieldType.NUMBER: "number",
    CustomFieldType.DATE: "date",
    CustomFieldType.BOOL: "checkbox",
    CustomFieldType.ENUM: "list",
    CustomFieldType.MULTI_ENUM: "text",
    CustomFieldType.PEOPLE: "text",
}
CANONICAL_TYPES: dict[str, CustomFieldType] = {
    "text": CustomFieldType.TEXT,
    "number": CustomFieldType.NUMBER,
    "date": CustomFieldType.DATE,
    "checkbox": CustomFieldType.BOOL,
    "list": CustomFieldType.ENUM,
}


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TOptionValue(_Wire):
    text: str = ""


class TFieldOption(_Wire):
    id: str
    value: TOptionValue = Field(default_factory=TOptionValue)


class TCustomField(_Wire):
    id: str
    name: str = ""
    type: str = "text"
    pos: float = 0.0
    options: list[TFieldOption] = Field(default_factory=list)


class TFieldItem(_Wire):
    idCustomField: str
    value: dict[str, Any] | None = None
    idValue: str | None = None


# -- reading ---------------------------------------------------------------------------------


def field_value(item: TFieldItem, definition: TCustomField) -> CustomFieldValue | None:
    """A card's value of one field as the canonical value (None for an empty item)."""
    kind = CANONICAL_TYPES.get(definition.type, CustomFieldType.TEXT)
    value: str | float | bool | None
    if definition.type == "list":
        value = next((o.value.text for o in definition.options if o.id == item.idValue), None)
    else:
        raw = (item.value or {}).get(
            {"number": "number", "date": "date", "checkbox": "checked"}.get(definition.type, "text")
        )
        if raw is None:
            return None
        if definition.type == "number":
            try:
                value = float(raw)
            except (TypeError, ValueError):
                kind, value = CustomFieldType.TEXT, str(raw)
        elif definition.type == "checkbox":
            value = str(raw).lower() == "true"
        else:
            value = str(raw)
    if value is None:
        return None
    return CustomFieldValue(name=definition.name, type=kind, value=value, source_id=definition.id)


def with_custom_fields(
    task: Task, raw_items: Iterable[Mapping[str, Any]], definitions: Mapping[str, TCustomField]
) -> Task:
    """``task`` with the values of its card's custom fields (in the board's field order),
    versioned again so that a changed value makes the next delta update the card."""
    values = []
    for raw in raw_items:
        item = TFieldItem.model_validate(raw)
        definition = definitions.get(item.idCustomField)
        if definition is not None and (value := field_value(item, definition)) is not None:
            values.append((definition.pos, value))
    if not values:
        return task
    fields = tuple(v for _, v in sorted(values, key=lambda pv: pv[0]))
    updated = task.model_copy(update={"custom_fields": fields})
    return updated.model_copy(update={"version": content_version(updated.model_dump(mode="json", exclude={"version"}))})


# -- writing ---------------------------------------------------------------------------------


def item_body(cf: CustomFieldValue, trello_type: str, option_id: str | None = None) -> dict[str, Any]:
    """The ``PUT …/customField/{id}/item`` body for ``cf`` in a field of ``trello_type``."""
    v = cf.value
    if v is None or v == [] or v == "":
        return {"idValue": ""} if trello_type == "list" else {"value": ""}
    if trello_type == "list":
        return {"idValue": option_id}
    if trello_type == "number":
        return {"value": {"number": _number(v)}}
    if trello_type == "checkbox":
        return {"value": {"checked": "true" if v is True or str(v).lower() == "true" else "false"}}
    if trello_type == "date":
        return {"value": {"date": _when(str(v))}}
    return {"value": {"text": ", ".join(v) if isinstance(v, list) else str(v)}}


def _number(v: object) -> str:
    number = float(v)  # type: ignore[arg-type]  # NUMBER values are numbers (or numeric text)
    return str(int(number)) if number.is_integer() else repr(number)


def _when(text: str) -> str:
    """A date or date-time as Trello writes it; a date alone is 12:00 UTC of that day."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = datetime.combine(date.fromisoformat(text[:10]), time(12, 0))
    if len(text) <= 10:
        moment = datetime.combine(moment.date(), time(12, 0))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _note(code: str, message: str, *, loss: bool = False) -> Adaptation:
    return Adaptation(kind=Kind.TASK, code=code, message=message, loss=loss)


class TrelloCustomFields:
    """Definitions of one writer's boards (cached) and the values it writes on cards."""

    def __init__(self, client: TrelloClient) -> None:
        self.client = client
        self._boards: dict[str, list[TCustomField]] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def _definitions(self, board: str, *, fresh: bool = False) -> list[TCustomField]:
        if fresh or board not in self._boards:
            raw = await self.client.get(f"/boards/{board}/customFields")
            self._boards[board] = [TCustomField.model_validate(x) for x in raw]
        return self._boards[board]

    async def _field(self, board: str, name: str, trello_type: str) -> TCustomField | None:
        """The board's field ``name`` of ``trello_type``, defined now if missing; None when
        the board takes no more fields. Created under the name ``name (type)`` when a field
        of that name and another type is already there."""
        async with self._locks[board]:
            fields = await self._definitions(board)
            for candidate in (name, f"{name} ({trello_type})"):
                if not any(f.name == candidate and f.type != trello_type for f in fields) or any(
                    f.name == candidate and f.type == trello_type for f in fields
                ):
                    break
            else:
                return None

            async def listing(fresh: bool) -> list[TCustomField]:
                return await self._definitions(board, fresh=fresh)

            async def create() -> TCustomField:
                return TCustomField.model_validate(
                    await self.client.post(
                        "/customFields",
                        json={
                            "idModel": board,
                            "modelType": "board",
                            "name": candidate,
                            "type": trello_type,
                            "pos": "bottom",
                            "display_cardFront": True,
                        },
                    )
                )

            async def delete(lost: TCustomField) -> None:
                await self.client.delete(f"/customFields/{lost.id}")
                self._boards[board] = [f for f in self._boards[board] if f.id != lost.id]

            try:
                return await define_once(
                    listing=listing,
                    matches=lambda f: f.name == candidate and f.type == trello_type,
                    create=create,
                    order=lambda f: f.id,
                    identity=lambda f: f.id,
                    delete=delete,
                )
            except SkippableItemError:  # 400: the board holds its 50 fields already
                return None

    async def _option(self, board: str, field: TCustomField, text: str) -> str:
        """The id of the list option ``text`` of ``field``, added when missing."""
        async with self._locks[f"{board}:{field.id}"]:
            current = next((f for f in await self._definitions(board) if f.id == field.id), field)
            options = list(current.options)

            async def listing(fresh: bool) -> list[TFieldOption]:
                nonlocal options
                if fresh:
                    options = [
                        TFieldOption.model_validate(x)
                        for x in await self.client.get(f"/customFields/{field.id}/options")
                    ]
                return options

            async def create() -> TFieldOption:
                return TFieldOption.model_validate(
                    await self.client.post(
                        f"/customFields/{field.id}/options",
                        json={"value": {"text": text}, "color": "none", "pos": "bottom"},
                    )
                )

            async def delete(lost: TFieldOption) -> None:
                nonlocal options
                await self.client.delete(f"/customFields/{field.id}/options/{lost.id}")
                options = [o for o in options if o.id != lost.id]

            winner = await define_once(
                listing=listing,
                matches=lambda o: o.value.text == text,
                create=create,
                order=lambda o: o.id,
                identity=lambda o: o.id,
                delete=delete,
            )
            if all(o.id != winner.id for o in options):
                options.append(winner)
            self._boards[board] = [
                f.model_copy(update={"options": options}) if f.id == field.id else f
                for f in await self._definitions(board)
            ]
            return winner.id

    async def write(self, card_id: str, board: str, task: Task, *, update: bool = False) -> tuple[Adaptation, ...]:
        """Set the card's values of ``task.custom_fields`` (idempotent: setting a value
        again changes nothing, so a redelivered update finishes what a failure left). An
        ``update`` also clears the card's other values: like its name and description, a
        card's custom fields are the source's, and a value the source dropped goes."""
        notes: list[Adaptation] = []
        written: set[str] = set()
        for cf in task.custom_fields:
            trello_type = TRELLO_TYPES[cf.type]
            if cf.type is CustomFieldType.NUMBER and not cf.holds_number():
                trello_type = "text"
            field = await self._field(board, cf.name, trello_type)
            if field is None:
                notes.append(
                    _note("task.custom_field_dropped", f"{cf.name}: the board holds no more custom fields", loss=True)
                )
                continue
            if field.name != cf.name:
                notes.append(
                    _note(
                        "task.custom_field_renamed",
                        f"{cf.name} is {field.name}: a field of that name and another type is on the board",
                    )
                )
            if trello_type == "text" and cf.type is not CustomFieldType.TEXT:
                notes.append(
                    _note("task.custom_field_as_text", f"{cf.name}: Trello has no {cf.type} fields; written as text")
                )
            option = None
            if trello_type == "list" and cf.value not in (None, ""):
                option = await self._option(board, field, str(cf.value))
            await self.client.put(
                f"/cards/{card_id}/customField/{field.id}/item", json=item_body(cf, trello_type, option)
            )
            written.add(field.id)
        if update:
            by_id = {f.id: f for f in await self._definitions(board)}
            for raw in await self.client.get(f"/cards/{card_id}/customFieldItems"):
                item = TFieldItem.model_validate(raw)
                stale = by_id.get(item.idCustomField)
                if item.idCustomField not in written and stale is not None:
                    await self.client.put(
                        f"/cards/{card_id}/customField/{stale.id}/item",
                        json={"idValue": ""} if stale.type == "list" else {"value": ""},
                    )
        return tuple(notes)
