"""Work item rules: JSON Patch documents applied to work items, and their rendering.

Create (``POST …/workitems/$Type``) and update (``PATCH …/workitems/{id}``) take a JSON
Patch document (``application/json-patch+json``): ``add``/``replace``/``remove``/``test``
on ``/fields/<reference name>``, ``add`` on ``/relations/-``, ``remove``/``replace`` on
``/relations/<index>``, and ``test`` on ``/rev``. The document is validated and applied to a
copy; nothing changes unless every operation succeeds (the service applies a document as
one revision). Hierarchy links are kept on both work items, each getting a revision.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

from simulators.azure_devops.errors import AdoError, not_found_work_item, rule_error
from simulators.azure_devops.fields import (
    CHILD,
    FIELDS,
    PARENT,
    RANK_FIELDS,
    RELATION_TYPES,
    TITLE_MAX,
    FieldDef,
)
from simulators.azure_devops.state import SimState
from simulators.azure_devops.store import (
    Comment,
    Identity,
    Project,
    Relation,
    WorkItem,
    WorkItemTypeDef,
)

_WI_URL = re.compile(r"/_apis/wit/workItems/(\d+)$", re.IGNORECASE)
_ATT_URL = re.compile(r"/_apis/wit/attachments/([0-9a-fA-F-]{36})(?:\?.*)?$")
_OPS = {"add", "replace", "remove", "test", "move", "copy"}


def work_item_url(origin: str, org: str, wi: WorkItem) -> str:
    return f"{origin}/{org}/{wi.project_id}/_apis/wit/workItems/{wi.id}"


def attachment_url(origin: str, org: str, project_id: str, att_id: str) -> str:
    return f"{origin}/{org}/{project_id}/_apis/wit/attachments/{att_id}"


def work_item_id_of(url: str) -> int | None:
    found = _WI_URL.search(url.split("?")[0])
    return int(found.group(1)) if found else None


def attachment_id_of(url: str) -> str | None:
    found = _ATT_URL.search(url)
    return found.group(1).lower() if found else None


def _reciprocal(rel: str) -> str:
    """The relation the other end of a work item link carries."""
    return {PARENT: CHILD, CHILD: PARENT}.get(rel, rel)


def _same_target(stored: str, given: str) -> bool:
    """Whether a stored relation URL (origin-free for the service's own resources) names
    what a client's absolute URL names."""
    for key in (work_item_id_of, attachment_id_of):
        a, b = key(stored), key(given)
        if a is not None or b is not None:
            return a == b
    return stored.lower() == given.lower()


def _date(field: FieldDef, value: Any) -> str:
    if not isinstance(value, str):
        raise AdoError(
            400,
            f"TF401326: Invalid field status 'InvalidType' for field '{field.reference}'.",
            "WorkItemFieldInvalidException",
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise AdoError(
            400,
            f"TF401326: Invalid field status 'InvalidType' for field '{field.reference}'.",
            "WorkItemFieldInvalidException",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{moment.microsecond // 1000:03d}Z" if moment.microsecond else "Z")


def normalise_tags(value: str) -> str:
    """``"b; a;  a "`` → ``"a; b"``: trimmed, de-duplicated (case-insensitively), sorted."""
    seen: dict[str, str] = {}
    for part in value.split(";"):
        name = part.strip()
        if name and name.lower() not in seen:
            seen[name.lower()] = name
    return "; ".join(sorted(seen.values(), key=str.lower))


class PatchContext:
    """One create or update being applied (all checks against the live store)."""

    def __init__(
        self, state: SimState, project: Project, wit: WorkItemTypeDef, caller: Identity, *, bypass: bool
    ) -> None:
        self.state = state
        self.store = state.store
        self.project = project
        self.wit = wit
        self.caller = caller
        self.bypass = bypass
        #: other work items whose links change with this document (id → copy)
        self.touched: dict[int, WorkItem] = {}
        self.new_comments: list[str] = []

    # --- fields ------------------------------------------------------------------------

    def _field(self, name: str) -> FieldDef:
        found = FIELDS.get(name.lower())
        rank = self.store.process_of(self.project).rank_field
        if found is None or (found.reference in RANK_FIELDS and found.reference != rank):
            raise AdoError(400, f"TF51535: Cannot find field {name}.", "WorkItemFieldInvalidException")
        return found

    def set_field(self, wi: WorkItem, name: str, value: Any, *, creating: bool) -> None:
        fdef = self._field(name)
        if fdef.readonly or (fdef.reference == "System.WorkItemType" and not creating):
            raise AdoError(
                400,
                f"TF401326: Invalid field status 'ReadOnly' for field '{fdef.reference}'.",
                "WorkItemFieldInvalidException",
            )
        if fdef.bypass and not self.bypass:
            raise AdoError(
                400,
                f"TF401326: Invalid field status 'ReadOnly' for field '{fdef.reference}'. Use bypassRules to set it.",
                "WorkItemFieldInvalidException",
            )
        if value is None or value == "":
            wi.fields.pop(fdef.reference, None)
            return
        if fdef.reference == "System.History":
            self.new_comments.append(str(value))
            return
        wi.fields[fdef.reference] = self._convert(fdef, value)

    def _convert(self, fdef: FieldDef, value: Any) -> Any:
        if fdef.type == "identity":
            who = value.get("uniqueName") if isinstance(value, dict) else value
            found = self.store.identity_by_email(str(who or ""))
            if found is None:
                raise AdoError(
                    400,
                    f"The identity value '{who}' for field '{fdef.name}' is an unknown identity.",
                    "WorkItemFieldInvalidException",
                )
            return found.id
        if fdef.type == "dateTime":
            return _date(fdef, value)
        if fdef.type == "integer":
            if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).lstrip("-").isdigit():
                raise rule_error(fdef.name, "InvalidType")
            return int(value)
        if fdef.type == "double":
            try:
                return float(value)
            except (TypeError, ValueError):
                raise rule_error(fdef.name, "InvalidType") from None
        if fdef.type == "plainText":
            return self._tags(normalise_tags(str(value)))
        if fdef.type == "treePath":
            return self._tree_path(fdef, str(value))
        if not isinstance(value, str):
            raise rule_error(fdef.name, "InvalidType")
        return value

    def _tags(self, value: str) -> str:
        """Tags are the project's, case-insensitively: a tag the project has keeps the
        spelling it was first used with ("backend" on an item of a project that has
        "Backend" is "Backend")."""
        names = [n.strip() for n in value.split(";") if n.strip()]
        known = self.project.tag_names
        return "; ".join(known.setdefault(n.lower(), n) for n in names)

    def _tree_path(self, fdef: FieldDef, value: str) -> str:
        parts = [p for p in value.strip("\\").split("\\") if p]
        structure = "area" if fdef.reference == "System.AreaPath" else "iteration"
        if not parts or parts[0].lower() != self.project.name.lower():
            raise AdoError(
                400,
                f"TF401347: Invalid tree name given for work item -1, field '{fdef.reference}'.",
                "WorkItemFieldInvalidException",
            )
        node = self.project.root(structure).find(parts[1:])
        if node is None:
            raise AdoError(
                400,
                f"TF401347: Invalid tree name given for work item -1, field '{fdef.reference}'.",
                "WorkItemFieldInvalidException",
            )
        return "\\".join([self.project.name, *parts[1:]])

    # --- relations -----------------------------------------------------------------------

    def _other(self, wid: int) -> WorkItem:
        if wid in self.touched:
            return self.touched[wid]
        found = self.store.work_items.get(wid)
        if found is None or found.deleted:
            raise AdoError(
                400,
                f"TF201063: Work item {wid} does not exist or you do not have permission to link to it.",
                "WorkItemLinkInvalidException",
            )
        self.touched[wid] = copy.deepcopy(found)
        return self.touched[wid]

    def add_relation(self, wi: WorkItem, value: Any) -> None:
        if (
            not isinstance(value, dict)
            or not isinstance(value.get("rel"), str)
            or not isinstance(value.get("url"), str)
        ):
            raise AdoError(400, "VS403691: The relation must have a 'rel' and a 'url'.", "WorkItemLinkInvalidException")
        rel, url = value["rel"], value["url"]
        attributes = dict(value.get("attributes") or {})
        if rel not in RELATION_TYPES:
            raise AdoError(400, f"VS402625: Relation type '{rel}' does not exist.", "WorkItemLinkInvalidException")
        if any(r.rel == rel and _same_target(r.url, url) for r in wi.relations):
            raise AdoError(
                400, f"TF201040: Relation '{rel}' to '{url}' already exists.", "WorkItemLinkInvalidException"
            )
        if rel == "AttachedFile":
            att_id = attachment_id_of(url)
            att = self.store.attachments.get(att_id or "")
            if att is None or not att.complete:
                raise AdoError(400, f"VS403635: The attachment '{url}' does not exist.", "WorkItemLinkInvalidException")
            attributes.setdefault("name", att.name)
            attributes["resourceSize"] = att.size
            attributes.setdefault("resourceCreatedDate", self.state.now())
            attributes["id"] = len(wi.relations) + 1
            # stored origin-free: answers carry the origin the client called
            wi.relations.append(
                Relation(rel, attachment_url("", self.store.organization, att.project_id, att.id), attributes)
            )
            return
        if rel == "Hyperlink":
            if not re.match(r"^https?://", url, re.IGNORECASE):
                raise AdoError(
                    400, "VS403690: A hyperlink must be an absolute http(s) URL.", "WorkItemLinkInvalidException"
                )
            wi.relations.append(Relation(rel, url, attributes))
            return
        target_id = work_item_id_of(url)
        if target_id is None:
            raise AdoError(400, f"VS403692: '{url}' is not a work item URL.", "WorkItemLinkInvalidException")
        if target_id == wi.id:
            raise AdoError(400, "TF201027: You cannot link a work item to itself.", "WorkItemLinkInvalidException")
        other = self._other(target_id)
        if rel == PARENT:
            self._one_parent(wi, other)
        elif rel == CHILD:
            self._one_parent(other, wi)
        attributes.setdefault("isLocked", False)
        attributes["name"] = RELATION_TYPES[rel]
        wi.relations.append(Relation(rel, work_item_url("", self.store.organization, other), attributes))
        back = _reciprocal(str(rel))
        other.relations.append(
            Relation(
                back, work_item_url("", self.store.organization, wi), {"isLocked": False, "name": RELATION_TYPES[back]}
            )
        )

    @staticmethod
    def _one_parent(child: WorkItem, parent: WorkItem) -> None:
        if any(r.rel == PARENT for r in child.relations):
            raise AdoError(
                400,
                f"TF201036: You cannot add a Child link between work items "
                f"{parent.id} and {child.id} because a work item can have only one "
                "Parent link.",
                "WorkItemLinkInvalidException",
            )

    def remove_relation(self, wi: WorkItem, index: int) -> None:
        if not 0 <= index < len(wi.relations):
            raise AdoError(400, f"VS403689: Relation index {index} is out of range.", "WorkItemLinkInvalidException")
        gone = wi.relations.pop(index)
        back = _reciprocal(gone.rel)
        target_id = work_item_id_of(gone.url) if gone.rel in (PARENT, CHILD, "System.LinkTypes.Related") else None
        known = self.store.work_items.get(target_id) if target_id is not None else None
        if known is not None and not known.deleted:
            other = self._other(known.id)
            other.relations = [r for r in other.relations if not (r.rel == back and work_item_id_of(r.url) == wi.id)]

    # --- the document ---------------------------------------------------------------------

    def apply(self, wi: WorkItem, ops: Any, *, creating: bool) -> None:
        if not isinstance(ops, list) or not ops:
            raise AdoError(
                400,
                "VS403420: You must pass a valid patch document in the body of the request.",
                "VssPropertyValidationException",
            )
        before_state = wi.fields.get("System.State")
        for op in ops:
            self._one(wi, op, creating=creating)
        self._finish(wi, before_state, creating=creating)

    def _one(self, wi: WorkItem, op: Any, *, creating: bool) -> None:
        if not isinstance(op, dict) or op.get("op") not in _OPS or not isinstance(op.get("path"), str):
            raise AdoError(
                400,
                "VS403420: You must pass a valid patch document in the body of the request.",
                "VssPropertyValidationException",
            )
        kind, path, value = op["op"], op["path"], op.get("value")
        if kind in ("move", "copy"):
            raise AdoError(400, f"VS403425: The operation '{kind}' is not supported.", "VssPropertyValidationException")
        if path == "/rev" and kind == "test":
            if creating or str(value) != str(wi.rev):
                raise AdoError(
                    412,
                    f"TF26071: This work item has been changed by someone "
                    f"else since you opened it (revision {wi.rev}).",
                    "WorkItemRevisionMismatchException",
                )
            return
        if path.startswith("/fields/"):
            name = path[len("/fields/") :]
            if kind == "test":
                fdef = self._field(name)
                if wi.fields.get(fdef.reference) != value:
                    raise AdoError(412, f"VS403427: Test operation on '{path}' failed.", "TestOperationFailedException")
                return
            self.set_field(wi, name, None if kind == "remove" else value, creating=creating)
            return
        if path == "/relations/-" and kind == "add":
            self.add_relation(wi, value)
            return
        found = re.fullmatch(r"/relations/(\d+)(/attributes/comment)?", path)
        if found and kind == "remove" and not found.group(2):
            self.remove_relation(wi, int(found.group(1)))
            return
        if found and kind in ("add", "replace") and found.group(2):
            index = int(found.group(1))
            if not 0 <= index < len(wi.relations):
                raise AdoError(
                    400, f"VS403689: Relation index {index} is out of range.", "WorkItemLinkInvalidException"
                )
            wi.relations[index].attributes["comment"] = str(value or "")
            return
        raise AdoError(
            400, f"VS403426: The path '{path}' is not supported for '{kind}'.", "VssPropertyValidationException"
        )

    def _finish(self, wi: WorkItem, before_state: str | None, *, creating: bool) -> None:
        fields = wi.fields
        title = fields.get("System.Title")
        if not isinstance(title, str) or not title.strip():
            raise rule_error("Title", "Required, InvalidEmpty")
        if len(title) > TITLE_MAX:
            raise rule_error("Title", "InvalidTooLong")
        if "\n" in title or "\r" in title:
            raise rule_error("Title", "InvalidControlChars")
        state_name = fields.get("System.State") or self.wit.states[0].name
        state = self.wit.state(str(state_name))
        if state is None:
            raise rule_error("State", "LimitedToValues, AllowsOldValue, InvalidListValue")
        fields["System.State"] = state.name
        now = self.state.now()
        if state.name != before_state:
            fields.setdefault("System.Reason", "New" if creating else f"Moved to {state.name}")
            if not creating:
                fields["System.Reason"] = f"Moved to state {state.name}"
            fields["Microsoft.VSTS.Common.StateChangeDate"] = now
            if state.category == "Completed":
                if not (self.bypass and "Microsoft.VSTS.Common.ClosedDate" in fields and before_state is None):
                    fields.setdefault("Microsoft.VSTS.Common.ClosedDate", now)
            else:
                fields.pop("Microsoft.VSTS.Common.ClosedDate", None)
        if state.category != "Completed":
            fields.pop("Microsoft.VSTS.Common.ClosedDate", None)
        fields.setdefault("System.AreaPath", self.project.name)
        fields.setdefault("System.IterationPath", self.project.name)
        if creating:
            fields.setdefault("System.CreatedBy", self.caller.id)
            fields.setdefault("System.CreatedDate", now)
        if not (self.bypass and "System.ChangedDate" in fields and creating):
            fields["System.ChangedDate"] = now
        fields["System.ChangedBy"] = self.caller.id
        parent = next((work_item_id_of(r.url) for r in wi.relations if r.rel == PARENT), None)
        if parent is None:
            fields.pop("System.Parent", None)
        else:
            fields["System.Parent"] = parent

    def commit(self, wi: WorkItem, *, creating: bool) -> None:
        """Store ``wi`` (a new revision), the linked work items and History comments."""
        store = self.store
        if not creating:
            wi.rev += 1
        store.work_items[wi.id] = wi
        now = self.state.now()
        for other in self.touched.values():
            other.rev += 1
            other.fields["System.ChangedDate"] = now
            other.fields["System.ChangedBy"] = self.caller.id
            parent = next((work_item_id_of(r.url) for r in other.relations if r.rel == PARENT), None)
            if parent is None:
                other.fields.pop("System.Parent", None)
            else:
                other.fields["System.Parent"] = parent
            store.work_items[other.id] = other
        for text in self.new_comments:
            add_comment(self.state, wi, text, self.caller)


def add_comment(state: SimState, wi: WorkItem, text: str, caller: Identity, fmt: str = "html") -> Comment:
    comments = state.store.comments.setdefault(wi.id, [])
    now = state.now()
    comment = Comment(
        id=max((c.id for c in comments), default=0) + 1,
        work_item_id=wi.id,
        text=text,
        created_by=caller.id,
        created=now,
        modified=now,
        format=fmt,
    )
    comments.append(comment)
    wi.fields["System.CommentCount"] = sum(1 for c in comments if not c.deleted)
    return comment


def load(state: SimState, project: Project | None, wid: int) -> WorkItem:
    """A live work item (of ``project`` when given), or 404 as the service answers."""
    wi = state.store.work_items.get(wid)
    if wi is None or wi.deleted or (project is not None and wi.project_id != project.id):
        raise not_found_work_item(wid)
    return wi


# --- rendering ------------------------------------------------------------------------


def render_field(state: SimState, origin: str, name: str, value: Any) -> Any:
    fdef = FIELDS.get(name.lower())
    if fdef is not None and fdef.type == "identity":
        who = state.store.identities.get(str(value))
        return who.ref(f"{origin}/{state.store.organization}") if who else None
    return value


def render(
    state: SimState, origin: str, wi: WorkItem, *, expand: str = "none", fields: list[str] | None = None
) -> dict[str, Any]:
    org = state.store.organization
    project = state.store.projects[wi.project_id]
    shown = dict(wi.fields)
    shown["System.Id"] = wi.id
    shown["System.Rev"] = wi.rev
    shown["System.TeamProject"] = project.name
    shown.setdefault("System.CommentCount", 0)
    out: dict[str, Any] = {"id": wi.id, "rev": wi.rev}
    if fields:
        wanted = {f.lower() for f in fields}
        shown = {k: v for k, v in shown.items() if k.lower() in wanted}
    out["fields"] = {k: render_field(state, origin, k, v) for k, v in shown.items()}
    mode = expand.lower()
    if mode in ("relations", "all"):
        out["relations"] = [
            {"rel": r.rel, "url": origin + r.url if r.url.startswith("/") else r.url, "attributes": dict(r.attributes)}
            for r in wi.relations
        ]
    url = work_item_url(origin, org, wi)
    if mode in ("links", "all"):
        out["_links"] = {
            "self": {"href": url},
            "workItemUpdates": {"href": f"{url}/updates"},
            "workItemRevisions": {"href": f"{url}/revisions"},
            "workItemComments": {"href": f"{url}/comments"},
            "html": {"href": f"{origin}/{org}/{project.id}/_workitems/edit/{wi.id}"},
            "workItemType": {
                "href": f"{origin}/{org}/{project.id}/_apis/wit/workItemTypes/{wi.fields.get('System.WorkItemType')}"
            },
            "fields": {"href": f"{origin}/{org}/{project.id}/_apis/wit/fields"},
        }
    out["url"] = url
    return out
