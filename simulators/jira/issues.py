"""Issue field rules shared by create, edit and transition (Jira Cloud REST v3, IssueUpdateDetails).

``fields`` sets values; ``update`` applies operations (``labels``/``components``:
``add``/``remove``/``set``). Rules the real API enforces and Ferry depends on: a summary
of 1-255 characters; labels without spaces; rich text as ADF; an assignee that exists;
a sub-task type needs a parent in the same project and sub-tasks cannot have sub-tasks;
``status`` is not a field — it changes through a transition.
"""

from __future__ import annotations

import re
from typing import Any

from simulators.jira.api import check_adf
from simulators.jira.store import Issue, JiraError, JiraStore, Project
from simulators.jira.views import START_DATE_FIELD

SETTABLE = {
    "project",
    "issuetype",
    "summary",
    "description",
    "assignee",
    "labels",
    "components",
    "priority",
    "parent",
    "duedate",
    START_DATE_FIELD,
    "reporter",
}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _ref(value: Any, field: str) -> str:
    if isinstance(value, dict):
        for key in ("id", "key", "name", "accountId"):
            if value.get(key) not in (None, ""):
                return str(value[key])
    raise JiraError(400, errors={field: f"The {field} is not valid."})


def project_of(store: JiraStore, value: Any) -> Project:
    try:
        return store.project(_ref(value, "project"))
    except JiraError:
        raise JiraError(400, errors={"project": "valid project is required"}) from None


def _labels(values: Any) -> list[str]:
    if not isinstance(values, list):
        raise JiraError(400, errors={"labels": "The labels must be a list."})
    out: list[str] = []
    for raw in values:
        label = str(raw)
        if not label or re.search(r"\s", label):
            raise JiraError(400, errors={"labels": f"The label '{label}' contains spaces which is invalid."})
        if len(label) > 255:
            raise JiraError(400, errors={"labels": "The label must not exceed 255 characters."})
        if label not in out:
            out.append(label)
    return out


def _components(store: JiraStore, project: Project, values: Any) -> list[str]:
    if not isinstance(values, list):
        raise JiraError(400, errors={"components": "The components must be a list."})
    out = []
    for value in values:
        ref = _ref(value, "components")
        comp = next(
            (c for c in store.components.values() if c.project_id == project.id and (c.id == ref or c.name == ref)),
            None,
        )
        if comp is None:
            raise JiraError(400, errors={"components": f"Component name '{ref}' is not valid"})
        out.append(comp.id)
    return out


def apply_fields(
    store: JiraStore,
    issue: Issue,
    fields: dict[str, Any],
    update: dict[str, Any] | None = None,
    *,
    creating: bool = False,
) -> None:
    """Validate and set ``fields`` / ``update`` on ``issue`` (all or nothing)."""
    unknown = set(fields) - SETTABLE
    if unknown:
        name = min(unknown)
        raise JiraError(
            400, errors={name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."}
        )
    if not creating and ("project" in fields or "issuetype" in fields):
        raise JiraError(
            400,
            errors={"project": "The project and issue type of an existing issue are changed by a move, not an edit."},
        )
    staged: dict[str, Any] = {}
    project = store.projects[issue.project_id]
    if "summary" in fields:
        summary = str(fields["summary"] or "").strip()
        if not summary:
            raise JiraError(400, errors={"summary": "You must specify a summary of the issue."})
        if len(fields["summary"]) > 255:
            raise JiraError(400, errors={"summary": "Summary must be less than 255 characters."})
        staged["summary"] = fields["summary"]
    if "description" in fields:
        value = fields["description"]
        staged["description"] = None if value is None else check_adf(value, "description")
    if "assignee" in fields:
        value = fields["assignee"]
        account = None if value is None else _ref(value, "assignee")
        if account is not None and store.user(account) is None:
            raise JiraError(400, errors={"assignee": f"User '{account}' cannot be assigned issues."})
        staged["assignee"] = account
    if "priority" in fields:
        ref = _ref(fields["priority"], "priority")
        prio = next((p for p in store.priorities.values() if ref in (p.id, p.name)), None)
        if prio is None:
            raise JiraError(
                400, errors={"priority": f"Specify the Priority (id or name) in the string format, not '{ref}'."}
            )
        staged["priority_id"] = prio.id
    for field, attr in (("duedate", "duedate"), (START_DATE_FIELD, "startdate")):
        if field in fields:
            value = fields[field]
            if value is not None and not (isinstance(value, str) and _DAY.fullmatch(value)):
                raise JiraError(400, errors={field: "Error parsing date string: " + str(value)})
            staged[attr] = value
    labels = _labels(fields["labels"]) if "labels" in fields else list(issue.labels)
    comps = _components(store, project, fields["components"]) if "components" in fields else list(issue.components)
    for op in (update or {}).get("labels", []):
        for verb, value in (op or {}).items():
            if verb == "add":
                labels = _labels([*labels, value])
            elif verb == "remove":
                labels = [x for x in labels if x != value]
            elif verb == "set":
                labels = _labels(value)
    for op in (update or {}).get("components", []):
        for verb, value in (op or {}).items():
            ids = _components(store, project, value if verb == "set" else [value])
            if verb == "add":
                comps += [c for c in ids if c not in comps]
            elif verb == "remove":
                comps = [c for c in comps if c not in ids]
            elif verb == "set":
                comps = ids
    staged["labels"], staged["components"] = labels, comps
    if "parent" in fields:
        parent = None if fields["parent"] is None else store.issue(_ref(fields["parent"], "parent"))
        if parent is not None and (
            parent.project_id != issue.project_id or parent.parent_id is not None or parent.id == issue.id
        ):
            raise JiraError(
                400,
                errors={
                    "parent": "Could not set the parent: sub-tasks "
                    "cannot have sub-tasks and must be in the "
                    "parent's project."
                },
            )
        staged["parent_id"] = parent.id if parent else None
    parent_id = staged.get("parent_id", issue.parent_id)
    if store.issue_types[issue.type_id].subtask and parent_id is None:
        raise JiraError(400, errors={"parent": "Issue type is a sub-task but parent issue key or id not specified."})
    if parent_id is not None and store.subtasks_of(issue.id):
        raise JiraError(400, errors={"parent": "An issue with sub-tasks cannot become a sub-task."})
    for attr, value in staged.items():
        setattr(issue, attr, value)


def issue_type_for(store: JiraStore, value: Any) -> str:
    ref = _ref(value, "issuetype")
    found = next((t for t in store.issue_types.values() if ref in (t.id, t.name)), None)
    if found is None:
        raise JiraError(400, errors={"issuetype": "Specify an issue type"})
    return found.id


def transition(store: JiraStore, issue: Issue, transition_id: str) -> None:
    """Move ``issue`` along the workflow; entering a done status sets the resolution date."""
    project = store.projects[issue.project_id]
    target = next((st for tid, st in store.transitions(project) if tid == transition_id), None)
    if target is None:
        raise JiraError(400, f"Transition id '{transition_id}' is not valid for this issue.")
    issue.status_id = target.id
    issue.resolution_date = store.now() if target.category == "done" else None
