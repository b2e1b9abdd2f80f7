"""State of the Jira Cloud simulator: users, credentials, projects with their workflow,
issue types, priorities, components, issues, comments, attachments and remote links.

Ids are numeric strings as Jira's are (``10000`` upwards); issue keys are
``<PROJECT KEY>-<n>``. Descriptions and comment bodies are kept as the Atlassian Document
Format documents the client sent (https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/).

The workflow of a project is its ordered status list with a global transition into each
status ("any status can move here"), which is what a team-managed project's board gives
(one column per status). Transition ids are the workflow's own, ``11``, ``21``, ``31`` …
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulators.common import Blob, SimClock

#: Jira's three status categories (GET /rest/api/3/statuscategory)
CATEGORIES: dict[str, dict[str, Any]] = {
    "new": {"id": 2, "key": "new", "name": "To Do", "colorName": "blue-gray"},
    "indeterminate": {"id": 4, "key": "indeterminate", "name": "In Progress", "colorName": "yellow"},
    "done": {"id": 3, "key": "done", "name": "Done", "colorName": "green"},
}
#: the statusCategory names ``POST /rest/api/3/statuses`` takes
CATEGORY_BY_CREATE_NAME = {"TODO": "new", "IN_PROGRESS": "indeterminate", "DONE": "done"}


class JiraError(Exception):
    """An error answered in Jira's ErrorCollection shape."""

    def __init__(
        self, status: int, *messages: str, errors: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status, messages, errors)
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"errorMessages": self.messages, "errors": self.errors}


def not_found(what: str = "Issue does not exist or you do not have permission to see it.") -> JiraError:
    return JiraError(404, what)


@dataclass
class User:
    account_id: str
    display_name: str
    email: str
    active: bool = True


@dataclass
class Status:
    id: str
    name: str
    category: str  # key of CATEGORIES
    project_id: str | None = None  # a project-scoped status (team-managed projects)
    description: str = ""


@dataclass
class IssueType:
    id: str
    name: str
    subtask: bool = False
    hierarchy_level: int = 0


@dataclass
class Priority:
    id: str
    name: str
    color: str
    is_default: bool = False


@dataclass
class Project:
    id: str
    key: str
    name: str
    lead: str
    description: str = ""
    statuses: list[str] = field(default_factory=list)  # the workflow, in board order
    next_number: int = 1
    archived: bool = False


@dataclass
class Component:
    id: str
    project_id: str
    name: str
    description: str = ""


@dataclass
class Issue:
    id: str
    key: str
    project_id: str
    type_id: str
    summary: str
    status_id: str
    priority_id: str
    reporter: str
    created: float
    updated: float
    description: dict[str, Any] | None = None
    assignee: str | None = None
    labels: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    parent_id: str | None = None
    duedate: str | None = None
    startdate: str | None = None  # the team-managed "Start date" field (customfield_10015)
    resolution_date: float | None = None
    # per-issue write times, for the per-issue write limit
    writes: list[float] = field(default_factory=list)


@dataclass
class Comment:
    id: str
    issue_id: str
    body: dict[str, Any]
    author: str
    created: float
    updated: float


@dataclass
class Attachment:
    id: str
    issue_id: str
    filename: str
    mime_type: str
    author: str
    created: float
    data: bytes | None = None  # uploaded bytes
    blob: Blob | None = None  # seeded content, generated on demand

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else (self.blob.size if self.blob else 0)


@dataclass
class RemoteLink:
    id: str
    issue_id: str
    url: str
    title: str
    global_id: str | None = None
    relationship: str | None = None


def iso(ts: float) -> str:
    """Jira's timestamp format: ``2026-12-06T08:40:12.000+0000``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


class JiraStore:
    """Everything the simulator holds. One lock: handlers are short and synchronous."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        self._ids = itertools.count(10000)
        self.cloud_id = "3f1b9c1e-5d0a-4c7e-9a11-0f0e5d7c2b10"
        self.users: dict[str, User] = {}
        self.api_tokens: dict[tuple[str, str], str] = {}  # (email, token) → accountId
        self.oauth_clients: dict[str, str] = {}
        self.auth_codes: dict[str, str] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.access_tokens: dict[str, tuple[str, float]] = {}  # token → (accountId, expiry)
        self.statuses: dict[str, Status] = {}
        self.issue_types: dict[str, IssueType] = {}
        self.priorities: dict[str, Priority] = {}
        self.projects: dict[str, Project] = {}
        self.components: dict[str, Component] = {}
        self.issues: dict[str, Issue] = {}
        self.comments: dict[str, Comment] = {}
        self.attachments: dict[str, Attachment] = {}
        self.remote_links: dict[str, RemoteLink] = {}
        self.search_tokens: dict[str, tuple[str, str]] = {}  # token → (jql, last issue id)
        self.max_results_cap = 100  # the server caps maxResults (Jira KB 779160706)
        #: the site's attachment size limit (an admin setting in Jira; simulator default)
        self.max_attachment_bytes = 1024 * 1024 * 1024

    def new_id(self) -> str:
        return str(next(self._ids))

    def now(self) -> float:
        return self.clock.time()

    # --- lookups ---------------------------------------------------------------------------

    def user(self, account_id: str | None) -> User | None:
        return self.users.get(account_id) if account_id else None

    def project(self, id_or_key: str) -> Project:
        found = self.projects.get(id_or_key) or next(
            (p for p in self.projects.values() if p.key.upper() == id_or_key.upper()), None
        )
        if found is None:
            raise not_found(f"No project could be found with key '{id_or_key}'.")
        return found

    def issue(self, id_or_key: str) -> Issue:
        found = self.issues.get(id_or_key) or next(
            (i for i in self.issues.values() if i.key.upper() == id_or_key.upper()), None
        )
        if found is None:
            raise not_found()
        return found

    def default_priority(self) -> Priority:
        return next(p for p in self.priorities.values() if p.is_default)

    def subtasks_of(self, issue_id: str) -> list[Issue]:
        return [i for i in self.issues.values() if i.parent_id == issue_id]

    # --- writes ----------------------------------------------------------------------------

    def add_status(self, name: str, category: str, project_id: str | None = None) -> Status:
        st = Status(self.new_id(), name, category, project_id)
        self.statuses[st.id] = st
        return st

    def add_project(
        self, key: str, name: str, lead: str, description: str = "", statuses: list[str] | None = None
    ) -> Project:
        if any(p.key.upper() == key.upper() for p in self.projects.values()):
            raise JiraError(400, errors={"projectKey": f"Project '{key}' uses this project key."})
        project = Project(self.new_id(), key.upper(), name, lead, description)
        # a new team-managed project's board: To Do, In Progress, Done
        board = (
            [(n, "new") for n in statuses]
            if statuses
            else [("To Do", "new"), ("In Progress", "indeterminate"), ("Done", "done")]
        )
        for st_name, cat in board:
            project.statuses.append(self.add_status(st_name, cat, project.id).id)
        self.projects[project.id] = project
        return project

    def transitions(self, project: Project) -> list[tuple[str, Status]]:
        """(transition id, target status) of the project's workflow, in board order."""
        return [(str(11 + 10 * i), self.statuses[sid]) for i, sid in enumerate(project.statuses)]

    def delete_issue(self, issue: Issue) -> None:
        for sub in self.subtasks_of(issue.id):
            self.delete_issue(sub)
        for table in (self.comments, self.attachments, self.remote_links):
            for key in [k for k, v in table.items() if v.issue_id == issue.id]:
                del table[key]
        self.issues.pop(issue.id, None)

    def delete_project(self, project: Project) -> None:
        for issue in [i for i in self.issues.values() if i.project_id == project.id]:
            self.delete_issue(issue)
        for cid in [c.id for c in self.components.values() if c.project_id == project.id]:
            del self.components[cid]
        self.projects.pop(project.id, None)

    def dump(self) -> dict[str, Any]:
        """A JSON-able summary for ``GET /_sim/state``."""
        with self.lock:
            return {
                "projects": [
                    {"id": p.id, "key": p.key, "name": p.name, "statuses": [self.statuses[s].name for s in p.statuses]}
                    for p in self.projects.values()
                ],
                "issues": [
                    {
                        "id": i.id,
                        "key": i.key,
                        "summary": i.summary,
                        "status": self.statuses[i.status_id].name,
                        "parent": i.parent_id,
                        "labels": i.labels,
                        "assignee": i.assignee,
                        "comments": sum(c.issue_id == i.id for c in self.comments.values()),
                        "attachments": sum(a.issue_id == i.id for a in self.attachments.values()),
                    }
                    for i in self.issues.values()
                ],
                "users": [{"accountId": u.account_id, "email": u.email} for u in self.users.values()],
            }
