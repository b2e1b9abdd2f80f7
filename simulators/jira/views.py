"""JSON renderings of the simulator's objects, in the shapes of the Jira Cloud REST v3
description (``vendor-api/jira/swagger-v3.trimmed.json``): User, StatusDetails, Project,
IssueBean, Comment, Attachment, RemoteIssueLink. ``base`` is the API root the client used
(``https://<site>`` or ``…/ex/jira/<cloudId>``), so ``self`` links lead back to it."""

from __future__ import annotations

from typing import Any

from simulators.jira.store import (
    CATEGORIES,
    Attachment,
    Comment,
    Component,
    Issue,
    IssueType,
    JiraStore,
    Priority,
    Project,
    RemoteLink,
    Status,
    User,
    iso,
)

API = "/rest/api/3"

#: fields an issue has, in the order Jira lists them; ``*all`` / ``*navigable`` select all
ISSUE_FIELDS = (
    "summary",
    "description",
    "status",
    "issuetype",
    "priority",
    "assignee",
    "reporter",
    "labels",
    "components",
    "parent",
    "subtasks",
    "duedate",
    "customfield_10015",
    "created",
    "updated",
    "resolutiondate",
    "project",
    "comment",
    "attachment",
)
START_DATE_FIELD = "customfield_10015"


def _field(fid: str, name: str, schema: dict[str, Any], *, custom: bool = False) -> dict[str, Any]:
    return {
        "id": fid,
        "key": fid,
        "name": name,
        "custom": custom,
        "orderable": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": [f"cf[{fid.rsplit('_', 1)[1]}]", name] if custom else [fid],
        "schema": schema,
    }


def fields() -> list[dict[str, Any]]:
    """``GET /field``: the system fields the simulator keeps and the team-managed "Start
    date" (a custom date picker whose id differs per site; this site's is 10015)."""
    system = [
        ("summary", "Summary", "string"),
        ("description", "Description", "string"),
        ("duedate", "Due date", "date"),
        ("labels", "Labels", "array"),
        ("assignee", "Assignee", "user"),
        ("status", "Status", "status"),
        ("priority", "Priority", "priority"),
        ("resolutiondate", "Resolved", "datetime"),
    ]
    out = [_field(fid, name, {"type": kind, "system": fid}) for fid, name, kind in system]
    out.append(
        _field(
            START_DATE_FIELD,
            "Start date",
            {
                "type": "date",
                "custom": "com.atlassian.jira.plugin.system.customfieldtypes:datepicker",
                "customId": int(START_DATE_FIELD.rsplit("_", 1)[1]),
            },
            custom=True,
        )
    )
    return out


def avatars(base: str, seed: str) -> dict[str, str]:
    return {f"{n}x{n}": f"{base}/secure/useravatar?size={n}&avatarId={seed}" for n in (16, 24, 32, 48)}


def user(base: str, u: User | None) -> dict[str, Any] | None:
    if u is None:
        return None
    return {
        "self": f"{base}{API}/user?accountId={u.account_id}",
        "accountId": u.account_id,
        "accountType": "atlassian",
        "emailAddress": u.email,
        "displayName": u.display_name,
        "active": u.active,
        "timeZone": "Etc/UTC",
        "avatarUrls": avatars(base, u.account_id),
    }


def category(base: str, key: str) -> dict[str, Any]:
    cat = CATEGORIES[key]
    return {"self": f"{base}{API}/statuscategory/{cat['id']}", **cat}


def status(base: str, st: Status) -> dict[str, Any]:
    out: dict[str, Any] = {
        "self": f"{base}{API}/status/{st.id}",
        "description": st.description,
        "iconUrl": f"{base}/images/icons/statuses/generic.png",
        "name": st.name,
        "id": st.id,
        "statusCategory": category(base, st.category),
    }
    if st.project_id:
        out["scope"] = {"type": "PROJECT", "project": {"id": st.project_id}}
    return out


def issue_type(base: str, t: IssueType) -> dict[str, Any]:
    return {
        "self": f"{base}{API}/issuetype/{t.id}",
        "id": t.id,
        "name": t.name,
        "description": f"A {t.name.lower()}.",
        "subtask": t.subtask,
        "hierarchyLevel": t.hierarchy_level,
        "avatarId": 10318,
        "iconUrl": f"{base}/rest/api/2/universal_avatar/view/type/issuetype/avatar/10318",
    }


def priority(base: str, p: Priority) -> dict[str, Any]:
    return {
        "self": f"{base}{API}/priority/{p.id}",
        "id": p.id,
        "name": p.name,
        "statusColor": p.color,
        "description": p.name,
        "isDefault": p.is_default,
        "iconUrl": f"{base}/images/icons/priorities/{p.name.lower()}.svg",
    }


def project(base: str, store: JiraStore, p: Project, *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "self": f"{base}{API}/project/{p.id}",
        "id": p.id,
        "key": p.key,
        "name": p.name,
        "projectTypeKey": "software",
        "simplified": True,
        "style": "next-gen",
        "isPrivate": False,
        "avatarUrls": avatars(base, p.id),
    }
    if full:
        out["description"] = p.description
        out["lead"] = user(base, store.user(p.lead))
        out["issueTypes"] = [issue_type(base, t) for t in store.issue_types.values()]
        out["archived"] = p.archived
    return out


def component(base: str, c: Component) -> dict[str, Any]:
    return {
        "self": f"{base}{API}/component/{c.id}",
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "projectId": int(c.project_id),
        "assigneeType": "PROJECT_DEFAULT",
    }


def comment(base: str, store: JiraStore, c: Comment) -> dict[str, Any]:
    issue = store.issues[c.issue_id]
    author = user(base, store.user(c.author))
    return {
        "self": f"{base}{API}/issue/{issue.id}/comment/{c.id}",
        "id": c.id,
        "author": author,
        "body": c.body,
        "updateAuthor": author,
        "created": iso(c.created),
        "updated": iso(c.updated),
        "jsdPublic": True,
    }


def attachment(base: str, store: JiraStore, a: Attachment) -> dict[str, Any]:
    return {
        "self": f"{base}{API}/attachment/{a.id}",
        "id": a.id,
        "filename": a.filename,
        "author": user(base, store.user(a.author)),
        "created": iso(a.created),
        "size": a.size,
        "mimeType": a.mime_type,
        "content": f"{base}{API}/attachment/content/{a.id}",
    }


def remote_link(base: str, link: RemoteLink) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": int(link.id),
        "self": f"{base}{API}/issue/{link.issue_id}/remotelink/{link.id}",
        "application": {},
        "object": {"url": link.url, "title": link.title},
    }
    if link.global_id is not None:
        out["globalId"] = link.global_id
    if link.relationship is not None:
        out["relationship"] = link.relationship
    return out


def _issue_ref(base: str, store: JiraStore, i: Issue) -> dict[str, Any]:
    """An issue as ``parent`` / ``subtasks`` entries show it."""
    return {
        "id": i.id,
        "key": i.key,
        "self": f"{base}{API}/issue/{i.id}",
        "fields": {
            "summary": i.summary,
            "status": status(base, store.statuses[i.status_id]),
            "priority": priority(base, store.priorities[i.priority_id]),
            "issuetype": issue_type(base, store.issue_types[i.type_id]),
        },
    }


def wanted_fields(requested: list[str] | None, default: tuple[str, ...]) -> set[str]:
    """The ``fields`` parameter: names, ``*all``/``*navigable``, ``-name`` to leave out."""
    if not requested:
        return set(default)
    names = [n.strip() for part in requested for n in part.split(",") if n.strip()]
    out: set[str] = set()
    for name in names:
        if name in ("*all", "*navigable"):
            out |= set(ISSUE_FIELDS)
        elif not name.startswith("-"):
            out.add(name)
    for name in names:
        if name.startswith("-"):
            out.discard(name[1:])
    return out


def issue(base: str, store: JiraStore, i: Issue, fields: set[str]) -> dict[str, Any]:
    """An IssueBean with the ``fields`` asked for (unknown names are ignored, as Jira does)."""
    values: dict[str, Any] = {
        "summary": lambda: i.summary,
        "description": lambda: i.description,
        "status": lambda: status(base, store.statuses[i.status_id]),
        "issuetype": lambda: issue_type(base, store.issue_types[i.type_id]),
        "priority": lambda: priority(base, store.priorities[i.priority_id]),
        "assignee": lambda: user(base, store.user(i.assignee)),
        "reporter": lambda: user(base, store.user(i.reporter)),
        "labels": lambda: list(i.labels),
        "components": lambda: [
            {"self": f"{base}{API}/component/{cid}", "id": cid, "name": store.components[cid].name}
            for cid in i.components
            if cid in store.components
        ],
        "parent": lambda: _issue_ref(base, store, store.issues[i.parent_id]) if i.parent_id in store.issues else None,
        "subtasks": lambda: [_issue_ref(base, store, s) for s in store.subtasks_of(i.id)],
        "duedate": lambda: i.duedate,
        START_DATE_FIELD: lambda: i.startdate,
        "created": lambda: iso(i.created),
        "updated": lambda: iso(i.updated),
        "resolutiondate": lambda: iso(i.resolution_date) if i.resolution_date else None,
        "project": lambda: project(base, store, store.projects[i.project_id], full=False),
        "comment": lambda: _comment_page(base, store, i),
        "attachment": lambda: [attachment(base, store, a) for a in store.attachments.values() if a.issue_id == i.id],
    }
    out_fields = {name: values[name]() for name in ISSUE_FIELDS if name in fields}
    if i.parent_id is None:
        out_fields.pop("parent", None)  # Jira leaves the field out when there is no parent
    return {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": i.id,
        "key": i.key,
        "self": f"{base}{API}/issue/{i.id}",
        "fields": out_fields,
    }


def _comment_page(base: str, store: JiraStore, i: Issue) -> dict[str, Any]:
    comments = [comment(base, store, c) for c in store.comments.values() if c.issue_id == i.id]
    return {
        "comments": comments,
        "self": f"{base}{API}/issue/{i.id}/comment",
        "maxResults": len(comments),
        "total": len(comments),
        "startAt": 0,
    }
