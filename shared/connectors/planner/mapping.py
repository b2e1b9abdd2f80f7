"""Pure mapping between Graph Planner wire types and the canonical model (no I/O)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from datetime import UTC, date, datetime, time
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote

from shared.connectors.planner.api_types import (
    DriveItem,
    GroupPost,
    PlannerBucket,
    PlannerExternalReference,
    PlannerPlan,
    PlannerPlanDetails,
    PlannerTask,
    PlannerTaskDetails,
)
from shared.contract.model import (
    Attachment,
    Checklist,
    ChecklistItem,
    Comment,
    CustomFieldType,
    CustomFieldValue,
    Label,
    LabelRef,
    Project,
    Section,
    Task,
    UserRef,
    content_version,
)
from shared.contract.text import strip_marker_footer

CATEGORY_KEYS = tuple(f"category{i}" for i in range(1, 26))
#: The colours the Planner apps give category1..category25.
CATEGORY_COLORS = (
    "pink",
    "red",
    "yellow",
    "green",
    "blue",
    "purple",
    "bronze",
    "lime",
    "aqua",
    "gray",
    "silver",
    "brown",
    "cranberry",
    "orange",
    "peach",
    "marigold",
    "light green",
    "dark green",
    "teal",
    "light blue",
    "dark blue",
    "lavender",
    "plum",
    "light gray",
    "dark gray",
)
#: Colours with another name in the sources' palettes (Trello, Asana) → the Planner colour.
_COLOR_ALIASES = {
    "sky": "light blue",
    "black": "dark gray",
    "grey": "gray",
    "dark red": "red",
    "dark orange": "orange",
    "dark purple": "purple",
    "dark pink": "pink",
    "dark teal": "teal",
    "dark brown": "brown",
    "light orange": "peach",
    "light purple": "lavender",
    "light pink": "pink",
    "light teal": "aqua",
    "light brown": "bronze",
    "light red": "cranberry",
    "dark warm gray": "dark gray",
    "light warm gray": "light gray",
    "yellow": "yellow",
}
#: plannerTask.priority (v1.0): 0-1 urgent, 2-4 important, 5-7 medium, 8-10 low.
PRIORITY_NAMES = ((1, "Urgent"), (4, "Important"), (7, "Medium"), (10, "Low"))
PRIORITY_VALUES = {"Urgent": 1, "Important": 3, "Medium": 5, "Low": 9}
CHECKLIST_NAME = "Checklist"


# --- small helpers ----------------------------------------------------------------------


def label_source_id(plan_id: str, category: str) -> str:
    return f"{plan_id}:{category}"


def category_for_color(color: str | None) -> str | None:
    """The category (``categoryN``) whose colour in the Planner apps is ``color``, if any:
    a label written there keeps its colour, and its colour tells it apart from another
    label of the same name."""
    if not color:
        return None
    name = color.lower().replace("-", " ").replace("_", " ").strip()
    name = _COLOR_ALIASES.get(name, name)
    return CATEGORY_KEYS[CATEGORY_COLORS.index(name)] if name in CATEGORY_COLORS else None


def hint_position(hint: str | None) -> float:
    """An order-preserving float for a Planner order hint (printable ASCII, compared
    ordinally); exact for the first ~8 characters, which is what orders real plans."""
    value, scale = 0.0, 1.0
    for ch in (hint or "")[:9]:
        scale /= 96.0
        value += (min(max(ord(ch), 32), 127) - 31) * scale
    return value


class _Text(HTMLParser):
    BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":  # every <br> is a line break: "a<br><br>b" holds a blank line
            self.parts.append("\n")
        elif tag in self.BREAKS and self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")  # a block starts on a new line

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BREAKS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(content: str, content_type: str = "html") -> str:
    """Plain text of a post body (group posts are HTML)."""
    if content_type.lower() != "html":
        return content
    parser = _Text()
    parser.feed(content)
    parser.close()
    return "".join(parser.parts).strip()


def text_to_html(text: str) -> str:
    """Escape text for an HTML post body, one `<br>` per line break (so blank lines stay:
    `html_to_text(text_to_html(t)) == t.strip()`)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    return "<div>" + html.escape(lines).replace("\n", "<br>") + "</div>"


def encode_reference_key(url: str) -> str:
    """Planner reference keys are URLs with `%`, `.`, `:`, `@`, `#` percent-encoded
    (https://learn.microsoft.com/graph/api/resources/plannerexternalreferences)."""
    return url.replace("%", "%25").replace(".", "%2E").replace(":", "%3A").replace("@", "%40").replace("#", "%23")


def decode_reference_key(key: str) -> str:
    return unquote(key)


def share_id(url: str) -> str:
    """A sharing id for `/shares/{id}`: "u!" + unpadded base64url of the URL."""
    return "u!" + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def is_sharepoint_url(url: str) -> bool:
    host = re.match(r"^https?://([^/:?#]+)", url)
    return bool(host and host.group(1).lower().endswith(".sharepoint.com"))


def attachment_source_id(task_id: str, key: str) -> str:
    return f"{task_id}/ref/{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def priority_name(priority: int | None) -> str | None:
    if priority is None:
        return None
    return next((name for top, name in PRIORITY_NAMES if priority <= top), None)


def user_ref(user_id: str | None, users: dict[str, UserRef]) -> UserRef | None:
    if not user_id:
        return None
    return users.get(user_id) or UserRef(source_id=user_id)


# --- reading ------------------------------------------------------------------------------


def plan_to_project(plan: PlannerPlan, members: tuple[UserRef, ...] = ()) -> Project:
    return Project(
        source_id=plan.id,
        version=plan.etag,
        name=plan.title,
        workspace_id=plan.group_id,
        created_at=plan.created,
        members=members,
    )


def bucket_to_section(bucket: PlannerBucket, plan_id: str) -> Section:
    return Section(
        source_id=bucket.id,
        version=bucket.etag,
        project_id=plan_id,
        name=bucket.name,
        position=hint_position(bucket.order_hint),
    )


def plan_labels(plan_id: str, details: PlannerPlanDetails) -> list[Label]:
    """Named categories become labels (unnamed ones are only colours in Planner)."""
    labels: list[Label] = []
    for index, key in enumerate(CATEGORY_KEYS):
        name = details.category_descriptions.get(key)
        if name:
            labels.append(
                Label(
                    source_id=label_source_id(plan_id, key),
                    version=content_version([key, name]),
                    project_id=plan_id,
                    name=name,
                    color=CATEGORY_COLORS[index],
                )
            )
    return labels


def task_to_record(
    task: PlannerTask, details: PlannerTaskDetails, users: dict[str, UserRef], label_names: dict[str, str]
) -> Task:
    """A Planner task (+ its details) as a canonical task."""
    items = sorted(details.checklist.items(), key=lambda kv: (kv[1].order_hint or "", kv[0]))
    checklist = Checklist(
        name=CHECKLIST_NAME,
        items=tuple(
            ChecklistItem(source_id=key, name=item.title, checked=item.is_checked, position=float(index))
            for index, (key, item) in enumerate(items)
        ),
    )
    labels = tuple(
        LabelRef(source_id=label_source_id(task.plan_id, key), name=label_names[key])
        for key in CATEGORY_KEYS
        if task.applied_categories.get(key) and key in label_names
    )
    unnamed = [
        CATEGORY_COLORS[CATEGORY_KEYS.index(k)]
        for k in CATEGORY_KEYS
        if task.applied_categories.get(k) and k not in label_names
    ]
    fields: list[CustomFieldValue] = []
    prio = priority_name(task.priority)
    if prio and prio != "Medium":
        fields.append(CustomFieldValue(name="Priority", type=CustomFieldType.ENUM, value=prio))
    if 0 < task.percent_complete < 100:
        fields.append(CustomFieldValue(name="Progress", type=CustomFieldType.ENUM, value="In progress"))
    if unnamed:
        fields.append(CustomFieldValue(name="Unnamed labels", type=CustomFieldType.MULTI_ENUM, value=unnamed))
    assignees = tuple(u for u in (user_ref(uid, users) for uid in task.assignments) if u)
    creator = task.created_by.user.id if task.created_by and task.created_by.user else None
    return Task(
        source_id=task.id,
        version=f"{task.etag}|{details.etag}",
        project_id=task.plan_id,
        section_id=task.bucket_id,
        name=task.title,
        description=strip_marker_footer(details.description or ""),
        completed=task.percent_complete >= 100,
        completed_at=task.completed,
        start_on=task.start.date() if task.start else None,
        due_on=task.due.date() if task.due else None,
        due_at=task.due,
        assignees=assignees,
        labels=labels,
        checklists=(checklist,) if checklist.items else (),
        custom_fields=tuple(fields),
        position=hint_position(task.order_hint),
        created_at=task.created,
        created_by=user_ref(creator, users),
    )


def post_to_comment(post: GroupPost, plan_id: str, task_id: str) -> Comment:
    sender = post.sender.email_address if post.sender and post.sender.email_address else None
    author = UserRef(email=sender.address, display_name=sender.name) if sender else None
    return Comment(
        source_id=post.id,
        version=post.change_key or str(post.modified),
        project_id=plan_id,
        task_id=task_id,
        text=strip_marker_footer(html_to_text(post.body.content, post.body.content_type)),
        author=author,
        created_at=post.created,
    )


def reference_to_attachment(
    task: PlannerTask, key: str, ref: PlannerExternalReference, item: DriveItem | None
) -> Attachment:
    """A reference: a file when it resolves to a SharePoint drive item, else a link."""
    url = decode_reference_key(key)
    source_id = attachment_source_id(task.id, key)
    if item is None:
        return Attachment(
            source_id=source_id,
            version=content_version([key, ref.alias, ref.type]),
            project_id=task.plan_id,
            task_id=task.id,
            name=ref.alias or url,
            is_link=True,
            url=url,
            created_at=ref.modified,
        )
    return Attachment(
        source_id=source_id,
        version=item.etag or content_version([key, item.size]),
        project_id=task.plan_id,
        task_id=task.id,
        name=item.name,
        size=item.size,
        mime_type=item.file.mime_type if item.file else None,
        url=url,
        created_at=item.created,
    )


# --- writing ------------------------------------------------------------------------------


def planner_datetime(day: date | None, moment: datetime | None) -> str | None:
    """Graph DateTimeOffset. Date-only values are placed at 12:00 UTC so every time zone
    from UTC-11 to UTC+11 shows the same calendar day in the Planner apps."""
    if moment is not None:
        value = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if day is not None:
        return datetime.combine(day, time(12, 0), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def task_fields(
    record: Task,
    *,
    bucket_id: str | None,
    categories: list[str],
    assignee_ids: list[str],
    existing: PlannerTask | None = None,
) -> dict[str, Any]:
    """The plannerTask body for a create (existing None) or an update."""
    body: dict[str, Any] = {
        "title": record.name,
        "percentComplete": 100 if record.completed else _progress(record),
        "startDateTime": planner_datetime(record.start_on, None),
        "dueDateTime": planner_datetime(record.due_on, record.due_at),
        "priority": _priority(record),
    }
    if bucket_id is not None:
        body["bucketId"] = bucket_id
    wanted = set(categories)
    current = {k for k, v in (existing.applied_categories if existing else {}).items() if v}
    if wanted or current:
        body["appliedCategories"] = dict.fromkeys(sorted(wanted), True) | dict.fromkeys(sorted(current - wanted), False)
    had = set(existing.assignments) if existing else set()
    assignments: dict[str, Any] = {
        uid: {"@odata.type": "#microsoft.graph.plannerAssignment", "orderHint": " !"}
        for uid in assignee_ids
        if uid not in had
    }
    assignments.update(dict.fromkeys(had - set(assignee_ids)))
    if assignments:
        body["assignments"] = assignments
    return body


def _progress(record: Task) -> int:
    progress = next((cf.value for cf in record.custom_fields if cf.name == "Progress"), None)
    return 50 if progress == "In progress" else 0


def _priority(record: Task) -> int:
    name = next((cf.value for cf in record.custom_fields if cf.name == "Priority"), None)
    return PRIORITY_VALUES.get(str(name), 5)


def checklist_patch(record: Task, existing: PlannerTaskDetails | None) -> dict[str, Any]:
    """Replace the task's checklist: items keyed by a stable hash of their source ids (so a
    re-run updates in place), items no longer in the record removed (null). Order hints are
    explicit ascending strings, which Planner stores as given."""
    patch: dict[str, Any] = {}
    index = 0
    for checklist in record.checklists:
        for item in checklist.items:
            key = hashlib.sha256(f"{record.source_id}|{item.source_id}".encode()).hexdigest()[:12]
            patch[key] = {
                "@odata.type": "microsoft.graph.plannerChecklistItem",
                "title": item.name,
                "isChecked": item.checked,
                "orderHint": f"{index:03d}",
            }
            index += 1
    for key in existing.checklist if existing else {}:
        if key not in patch:
            patch[key] = None
    return patch
