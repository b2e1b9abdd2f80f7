"""Deterministic seed data: an organization, its users and credentials, two projects (Basic
and Agile processes) with areas, iterations and work items that use every feature Ferry
reads — rich HTML descriptions (headings, lists, links, code, a mention), tags, assignees,
dates, states of every category, parent/child links (one child older than its parent),
comments, attached files, a hyperlink and a work item in the recycle bin."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from typing import Any

from simulators.azure_devops import processes
from simulators.azure_devops.fields import PARENT
from simulators.azure_devops.state import SimState
from simulators.azure_devops.store import Attachment, EntraApp, Identity, Node, Store, WorkItem
from simulators.azure_devops.workitems import (
    PatchContext,
    add_comment,
    attachment_url,
    work_item_url,
)
from simulators.common import SimClock, SimRuntime, make_blob, seeded_rng, unicode_text, words

DEFAULT_PAT = "ado-sim-pat-ada"
DEFAULT_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@dataclass
class SeedConfig:
    seed: int = 7
    organization: str = "ferry-sim"
    tenant_id: str = DEFAULT_TENANT
    pat: str = DEFAULT_PAT
    #: a second user's PAT (a member who is not the token owner of the defaults)
    other_pat: str = "ado-sim-pat-linus"
    client_id: str = "0f3b1c2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    client_secret: str = "ado-sim-secret"
    projects: int = 2
    items_per_project: int = 10
    children_every: int = 4
    comments_every: int = 3
    attachment_sizes: tuple[int, ...] = (2048, 70_000)
    users: tuple[tuple[str, str], ...] = (
        ("Ada Lovelace", "ada@example.com"),
        ("Linus Torvalds", "linus@example.com"),
        ("Chloé Dupont", "chloe@example.com"),
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeedConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise KeyError(f"unknown seed parameters: {sorted(unknown)}")
        values = dict(data)
        if "attachment_sizes" in values:
            values["attachment_sizes"] = tuple(int(v) for v in values["attachment_sizes"])
        if "users" in values:
            values["users"] = tuple(tuple(u) for u in values["users"])
        return cls(**values)


RICH = (
    "<h2>Goal</h2><p>Ship the <b>{w}</b> with <i>care</i> — {u}.</p>"
    '<ul><li>first step</li><li>second <a href="https://example.com/spec">spec</a></li>'
    "</ul><ol><li>one</li><li>two</li></ol>"
    '<pre><code>print("hello")</code></pre>'
    '<p>Ask <a href="#" data-vss-mention="version:2.0,{mention}">@{name}</a> '
    "about <code>inline</code>.</p>"
)


def seed_store(config: SeedConfig, clock: SimClock | None = None) -> Store:
    rng = seeded_rng(config.seed)
    store = Store(organization=config.organization, tenant_id=config.tenant_id)
    for proc in (processes.basic(), processes.agile()):
        store.processes[proc.id] = proc
    people: list[Identity] = []
    for i, (name, email) in enumerate(config.users):
        ident = Identity(id=f"{i + 1:08d}-0000-4000-8000-{config.seed:012d}", display_name=name, email=email)
        people.append(ident)
        store.identities[ident.id] = ident
    people[0].pats.append(config.pat)
    if len(people) > 1:
        people[1].pats.append(config.other_pat)
    app_identity = Identity(
        id=f"99999999-0000-4000-8000-{config.seed:012d}",
        display_name="Ferry migration app",
        email=f"{config.client_id}@{config.tenant_id}",
    )
    store.identities[app_identity.id] = app_identity
    store.apps[config.client_id] = EntraApp(config.client_id, config.client_secret, app_identity.id)
    state = SimState(store, clock or SimClock(), SimRuntime())
    from simulators.azure_devops.routes_core import new_project

    for p in range(config.projects):
        process_id = processes.BASIC_ID if p % 2 == 0 else processes.AGILE_ID
        name = ["Ferry Basic", "Ferry Agile"][p] if p < 2 else f"Ferry Project {p + 1}"
        project = new_project(state, name, f"Seeded project {p + 1}: {words(rng, 4)}", process_id)
        for area in ("Team A", "Team B"):
            project.area.children.append(Node(store.new_node_id(), f"a{p}{area[-1]}-node", area, "area"))
        project.area.children[0].children.append(Node(store.new_node_id(), f"a{p}-frontend", "Frontend", "area"))
        for sprint in ("Sprint 1", "Sprint 2"):
            project.iteration.children.append(
                Node(
                    store.new_node_id(),
                    f"i{p}{sprint[-1]}-node",
                    sprint,
                    "iteration",
                    attributes={"startDate": "2026-01-05T00:00:00Z", "finishDate": "2026-01-16T00:00:00Z"},
                )
            )
        _seed_items(state, config, project.id, rng, people)
    return store


def _create(state: SimState, project_id: str, type_name: str, who: Identity, ops: list[dict[str, Any]]) -> WorkItem:
    store = state.store
    project = store.projects[project_id]
    wit = store.process_of(project).type(type_name)
    assert wit is not None
    ctx = PatchContext(state, project, wit, who, bypass=True)
    wi = WorkItem(id=store.new_work_item_id(), project_id=project_id, rev=1, fields={"System.WorkItemType": wit.name})
    ctx.apply(wi, ops, creating=True)
    ctx.commit(wi, creating=True)
    return wi


def _link(state: SimState, child: WorkItem, parent: WorkItem, who: Identity) -> None:
    project = state.store.projects[child.project_id]
    wit = state.store.process_of(project).type(str(child.fields["System.WorkItemType"]))
    assert wit is not None
    ctx = PatchContext(state, project, wit, who, bypass=False)
    ctx.apply(
        child,
        [
            {
                "op": "add",
                "path": "/relations/-",
                "value": {"rel": PARENT, "url": work_item_url("", state.store.organization, parent)},
            }
        ],
        creating=False,
    )
    ctx.commit(child, creating=False)


def _field(name: str, value: Any) -> dict[str, Any]:
    return {"op": "add", "path": f"/fields/{name}", "value": value}


def _seed_items(state: SimState, config: SeedConfig, project_id: str, rng: Any, people: list[Identity]) -> None:
    store = state.store
    project = store.projects[project_id]
    basic = project.process_id == processes.BASIC_ID
    top_type, child_type = ("Issue", "Task") if basic else ("User Story", "Task")
    wit = store.process_of(project).type(top_type)
    assert wit is not None
    areas = [project.name, f"{project.name}\\Team A", f"{project.name}\\Team B", f"{project.name}\\Team A\\Frontend"]
    tags = ["backend", "urgent", "ünïcode ✓", "design"]
    owner = people[0]
    # a child older than its parent: created first, linked once the parent exists
    early = _create(
        state,
        project_id,
        child_type,
        owner,
        [_field("System.Title", "Early child (created before its parent)"), _field("System.AreaPath", areas[1])],
    )
    tops: list[WorkItem] = []
    for i in range(config.items_per_project):
        state_def = wit.states[i % len(wit.states)]
        mention = people[(i + 1) % len(people)]
        ops = [
            _field(
                "System.Title", f"{words(rng, 3).title()} {i + 1}" + (f" {unicode_text(rng, 1)}" if i % 3 == 0 else "")
            ),
            _field(
                "System.Description",
                RICH.format(w=words(rng, 2), u=unicode_text(rng, 1), mention=mention.id, name=mention.display_name),
            ),
            _field("System.State", state_def.name),
            _field("System.AreaPath", areas[i % len(areas)]),
            _field("System.IterationPath", f"{project.name}\\Sprint {i % 2 + 1}"),
            _field("System.CreatedDate", f"2026-01-{(i % 27) + 1:02d}T09:30:00Z"),
            _field("System.ChangedDate", f"2026-02-{(i % 27) + 1:02d}T10:00:00Z"),
            _field("Microsoft.VSTS.Common.Priority", i % 4 + 1),
        ]
        if i % 4 != 3:
            ops.append(_field("System.AssignedTo", people[i % len(people)].email))
        if i % 2 == 0:
            ops.append(_field("System.Tags", "; ".join(tags[: 1 + i % len(tags)])))
        if i % 3 == 1:
            ops.append(_field("Microsoft.VSTS.Scheduling.StartDate", "2026-03-02T00:00:00Z"))
            ops.append(_field("Microsoft.VSTS.Scheduling.TargetDate", "2026-03-20T00:00:00Z"))
        tops.append(_create(state, project_id, top_type, owner, ops))
    _link(state, store.work_items[early.id], tops[-1], owner)
    for i, top in enumerate(tops):
        # links stored a new copy of the linked items: work on the stored one
        parent = store.work_items[top.id]
        if config.children_every and i % config.children_every == 0:
            _create(
                state,
                project_id,
                child_type,
                owner,
                [
                    _field("System.Title", f"Child of {parent.id}"),
                    _field("System.AreaPath", parent.fields["System.AreaPath"]),
                    {
                        "op": "add",
                        "path": "/relations/-",
                        "value": {"rel": PARENT, "url": work_item_url("", store.organization, parent)},
                    },
                ],
            )
        if config.comments_every and i % config.comments_every == 0:
            parent = store.work_items[top.id]
            for k in range(2):
                add_comment(
                    state,
                    parent,
                    f"<p>Comment {k + 1} on {parent.id}: {unicode_text(rng, 1)}</p>",
                    people[k % len(people)],
                )
    for k, size in enumerate(config.attachment_sizes):
        host = store.work_items[tops[k % len(tops)].id]
        att = Attachment(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"ado-sim:{project_id}:{k}")),
            project_id=project_id,
            name=f"seed-file-{k + 1}.bin",
            blob=make_blob(size, f"{project_id}:{k}"),
        )
        store.attachments[att.id] = att
        _attach(state, host, att, owner)
    _hyperlink(state, store.work_items[tops[1 % len(tops)].id], owner)
    gone = _create(state, project_id, top_type, owner, [_field("System.Title", "Deleted item")])
    gone.deleted = True


def _attach(state: SimState, wi: WorkItem, att: Attachment, who: Identity) -> None:
    project = state.store.projects[wi.project_id]
    wit = state.store.process_of(project).type(str(wi.fields["System.WorkItemType"]))
    assert wit is not None
    ctx = PatchContext(state, project, wit, who, bypass=False)
    ctx.apply(
        wi,
        [
            {
                "op": "add",
                "path": "/relations/-",
                "value": {
                    "rel": "AttachedFile",
                    "url": attachment_url("", state.store.organization, project.id, att.id),
                    "attributes": {"comment": "seeded file"},
                },
            }
        ],
        creating=False,
    )
    ctx.commit(wi, creating=False)


def _hyperlink(state: SimState, wi: WorkItem, who: Identity) -> None:
    project = state.store.projects[wi.project_id]
    wit = state.store.process_of(project).type(str(wi.fields["System.WorkItemType"]))
    assert wit is not None
    ctx = PatchContext(state, project, wit, who, bypass=False)
    ctx.apply(
        wi,
        [
            {
                "op": "add",
                "path": "/relations/-",
                "value": {
                    "rel": "Hyperlink",
                    "url": "https://example.com/design-doc",
                    "attributes": {"comment": "Design doc"},
                },
            }
        ],
        creating=False,
    )
    ctx.commit(wi, creating=False)
