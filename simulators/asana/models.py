"""In-memory records of the Asana simulator and the small helpers they share.

Field names follow the Asana REST API (`asana_oas.yaml`, schemas `TaskResponse`,
`ProjectResponse`, ...). Records hold gids, never object references, so the store can
be dumped to JSON for ``GET /_sim/state``.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

HELP = (
    "For more information on API status codes and how to handle them, read the docs on "
    "errors: https://developers.asana.com/docs/errors"
)


class AsanaApiError(Exception):
    """An error answered as Asana does: ``{"errors": [{"message", "help"}]}``."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON error body (500s carry a ``phrase`` like the real API)."""
        err: dict[str, Any] = {"message": self.message, "help": HELP}
        if self.status >= 500:
            err["phrase"] = "6 sad squid snuggle softly"
        return {"errors": [err]}


def bad_request(message: str) -> AsanaApiError:
    """400 with Asana's ``field: problem`` message style."""
    return AsanaApiError(400, message)


def unknown_object(kind: str, gid: str) -> AsanaApiError:
    """404 as Asana answers for a missing or deleted object."""
    return AsanaApiError(404, f"{kind}: Unknown object: {gid}")


def iso_ts(epoch: float) -> str:
    """Asana timestamp format: UTC with milliseconds, e.g. ``2012-02-22T02:06:58.147Z``."""
    dt = datetime.fromtimestamp(epoch, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_ts(value: str, field_name: str) -> float:
    """Parse an ISO 8601 date-time (``Z`` or offset) to epoch seconds, or 400."""
    try:
        dt = datetime.fromisoformat(value)
    except (ValueError, AttributeError) as exc:
        raise bad_request(f"{field_name}: Not a valid date-time: {value}") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def parse_date(value: str, field_name: str) -> date:
    """Parse ``YYYY-MM-DD`` or 400."""
    try:
        return date.fromisoformat(value)
    except (ValueError, TypeError) as exc:
        raise bad_request(f"{field_name}: Not a valid date: {value}") from exc


# --- rich text: Asana stores one text and answers both `notes` and `html_notes` -------------
# https://developers.asana.com/docs/rich-text : html_notes must be valid XML wrapped in <body>.


def notes_to_html(notes: str) -> str:
    """Plain notes → the ``<body>`` form Asana returns in ``html_notes``."""
    return f"<body>{html.escape(notes, quote=False)}</body>"


def html_to_notes(html_notes: str, field_name: str = "html_notes") -> str:
    """Validate Asana rich text (XML rooted at ``<body>``) and return its plain text."""
    try:
        root = ET.fromstring(html_notes)
    except ET.ParseError as exc:
        raise bad_request(f"{field_name}: XML is invalid: {exc}") from exc
    if root.tag != "body":
        raise bad_request(f"{field_name}: root element must be <body>")
    parts: list[str] = []

    def walk(el: ET.Element) -> None:
        if el.tag == "br":
            parts.append("\n")
        if el.text:
            parts.append(el.text)
        for child in el:
            walk(child)
            if child.tag == "li":
                parts.append("\n")
            if child.tail:
                parts.append(child.tail)

    walk(root)
    return re.sub(r"\n{3,}", "\n\n", "".join(parts))


# --- records ---------------------------------------------------------------------------------


@dataclass
class Workspace:
    gid: str
    name: str
    is_organization: bool = False
    email_domains: list[str] = field(default_factory=list)
    user_gids: list[str] = field(default_factory=list)


@dataclass
class User:
    gid: str
    name: str
    email: str
    workspace_gids: list[str] = field(default_factory=list)


@dataclass
class Project:
    gid: str
    workspace: str
    name: str
    created_at: float
    modified_at: float
    owner: str | None = None
    notes: str = ""
    archived: bool = False
    color: str | None = None
    default_view: str = "list"
    due_on: str | None = None
    start_on: str | None = None
    public: bool = True
    privacy_setting: str = "public_to_workspace"
    members: list[str] = field(default_factory=list)
    section_gids: list[str] = field(default_factory=list)
    deleted: bool = False


@dataclass
class Section:
    gid: str
    project: str
    name: str
    created_at: float
    task_gids: list[str] = field(default_factory=list)
    deleted: bool = False


@dataclass
class Task:
    gid: str
    workspace: str
    name: str
    created_at: float
    modified_at: float
    created_by: str | None = None
    resource_subtype: str = "default_task"
    notes: str = ""
    html_notes: str = "<body></body>"
    assignee: str | None = None
    assignee_status: str = "inbox"
    completed: bool = False
    completed_at: float | None = None
    completed_by: str | None = None
    due_on: str | None = None
    due_at: str | None = None
    start_on: str | None = None
    start_at: str | None = None
    parent: str | None = None
    subtask_gids: list[str] = field(default_factory=list)
    #: ordered (project gid, section gid) pairs
    memberships: list[tuple[str, str]] = field(default_factory=list)
    tag_gids: list[str] = field(default_factory=list)
    follower_gids: list[str] = field(default_factory=list)
    #: custom field gid → value (text: str, number: float, enum: option gid)
    custom_values: dict[str, Any] = field(default_factory=dict)
    liked: bool = False
    deleted: bool = False


@dataclass
class CustomField:
    """A workspace custom field (``text``, ``number``, ``enum`` or ``date``)."""

    gid: str
    workspace: str
    name: str
    resource_subtype: str
    precision: int = 0
    #: (option gid, name, color) for enum fields
    enum_options: list[tuple[str, str, str]] = field(default_factory=list)

    def display(self, value: Any) -> str | None:
        """Asana's ``display_value`` for a stored value."""
        if value is None:
            return None
        if self.resource_subtype == "enum":
            return next((name for gid, name, _ in self.enum_options if gid == value), None)
        if self.resource_subtype == "number":
            return f"{float(value):.{self.precision}f}"
        if self.resource_subtype == "date":
            return str(value.get("date"))  # stored as the date_value object
        return str(value)


@dataclass
class Story:
    gid: str
    target: str
    created_at: float
    created_by: str | None
    type: str  # "comment" | "system"
    resource_subtype: str
    text: str
    html_text: str | None = None
    is_pinned: bool = False
    is_edited: bool = False
    deleted: bool = False


@dataclass
class Tag:
    gid: str
    workspace: str
    name: str
    created_at: float
    color: str | None = None
    notes: str = ""
    follower_gids: list[str] = field(default_factory=list)
    deleted: bool = False


@dataclass
class Attachment:
    """An uploaded file, a generated blob (seed) or an external link.

    Content lives in exactly one place: ``blob_seed`` (generated on demand), ``path`` (a temp
    file written while the upload streamed in) or ``url`` (external, not downloadable here).
    """

    gid: str
    parent: str
    name: str
    created_at: float
    size: int
    host: str = "asana"
    resource_subtype: str = "asana"
    content_type: str = "application/octet-stream"
    sha256: str | None = None
    blob_seed: str | None = None
    path: str | None = None
    url: str | None = None
    deleted: bool = False
