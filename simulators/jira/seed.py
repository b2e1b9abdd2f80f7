"""Deterministic seed data for the Jira simulator.

Three people (the first is the default credential's account and every project's lead),
``projects`` team-managed projects with a To Do / In Progress / In Review / Done board,
issues with ADF descriptions (headings, lists, links, code, mentions), labels, components,
priorities, due and start dates, sub-tasks, comments, attachments and web links.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from simulators.common import make_blob, seeded_rng, unicode_text, words
from simulators.jira.store import (
    Attachment,
    Comment,
    Component,
    Issue,
    IssueType,
    JiraStore,
    Priority,
    RemoteLink,
    User,
)

DEFAULT_EMAIL = "ada@example.com"
DEFAULT_TOKEN = "jira-sim-api-token-ada"
OAUTH_CLIENT_ID = "jira-sim-client"
OAUTH_CLIENT_SECRET = "jira-sim-secret"
PEOPLE = (
    ("Ada Lovelace", "ada@example.com"),
    ("Grace Hopper", "grace@example.com"),
    ("Linus Torvalds", "linus@example.com"),
)
BOARD = (("To Do", "new"), ("In Progress", "indeterminate"), ("In Review", "indeterminate"), ("Done", "done"))


@dataclass
class SeedConfig:
    seed: int = 42
    projects: int = 2
    issues_per_project: int = 12
    subtasks_every: int = 4  # every n-th issue gets two sub-tasks (0: none)
    comments_per_issue: int = 2
    attachment_sizes: list[int] = field(default_factory=lambda: [2048, 150_000])
    links: int = 1  # web links (remote links) on the first issues

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SeedConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data or {}) - known
        if unknown:
            raise ValueError(f"unknown seed parameters: {sorted(unknown)}")
        return cls(**(data or {}))


def token_for(email: str) -> str:
    """The API token the seed gives the person with ``email``."""
    return f"jira-sim-api-token-{email.split('@')[0]}"


def auth_code_for(email: str) -> str:
    return f"jira-sim-code-{email.split('@')[0]}"


def refresh_token_for(email: str) -> str:
    return f"jira-sim-refresh-{email.split('@')[0]}"


def text(value: str, *marks: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def rich_description(rng: Any, n: int, mention: User) -> dict[str, Any]:
    """An ADF document using the constructs Ferry converts."""
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [text(f"Goal {n}")]},
            {
                "type": "paragraph",
                "content": [
                    text(words(rng, 5) + " "),
                    text("bold", {"type": "strong"}),
                    text(" and "),
                    text("a link", {"type": "link", "attrs": {"href": f"https://example.com/{n}"}}),
                    text(" for "),
                    {"type": "mention", "attrs": {"id": mention.account_id, "text": f"@{mention.display_name}"}},
                    text(" " + unicode_text(rng, 2)),
                ],
            },
            {
                "type": "bulletList",
                "content": [
                    {"type": "listItem", "content": [{"type": "paragraph", "content": [text(words(rng, 3))]}]},
                    {"type": "listItem", "content": [{"type": "paragraph", "content": [text(words(rng, 2))]}]},
                ],
            },
            {
                "type": "orderedList",
                "attrs": {"order": 1},
                "content": [{"type": "listItem", "content": [{"type": "paragraph", "content": [text("first step")]}]}],
            },
            {"type": "codeBlock", "attrs": {"language": "python"}, "content": [text(f"print({n})\nreturn {n}")]},
        ],
    }


def seed_store(store: JiraStore, config: SeedConfig) -> dict[str, Any]:
    """Rebuild ``store`` from ``config``; returns a summary."""
    store.reset()
    rng = seeded_rng(config.seed)
    for name, email in PEOPLE:
        user = User(store.new_id().rjust(24, "7"), name, email)
        store.users[user.account_id] = user
        store.api_tokens[(email, token_for(email))] = user.account_id
        store.auth_codes[auth_code_for(email)] = user.account_id
        store.refresh_tokens[refresh_token_for(email)] = user.account_id
    store.oauth_clients[OAUTH_CLIENT_ID] = OAUTH_CLIENT_SECRET
    people = list(store.users.values())
    for t in (
        IssueType(store.new_id(), "Task"),
        IssueType(store.new_id(), "Bug"),
        IssueType(store.new_id(), "Subtask", subtask=True, hierarchy_level=-1),
    ):
        store.issue_types[t.id] = t
    task_type, _, sub_type = list(store.issue_types)
    for i, (name, color) in enumerate(
        (("Highest", "#d04437"), ("High", "#f15C75"), ("Medium", "#f79232"), ("Low", "#707070"), ("Lowest", "#999999"))
    ):
        p = Priority(str(i + 1), name, color, is_default=name == "Medium")
        store.priorities[p.id] = p
    counts = {"projects": 0, "issues": 0, "comments": 0, "attachments": 0}
    for pn in range(config.projects):
        key = "FER" if pn == 0 else f"FE{chr(ord('A') + pn)}"
        project = store.add_project(key, f"Ferry project {pn + 1}", people[0].account_id, f"Seeded project {pn + 1}")
        for st in list(project.statuses):
            del store.statuses[st]
        project.statuses = [store.add_status(n, c, project.id).id for n, c in BOARD]
        comps = []
        for cname in ("Backend", "Frontend"):
            comp = Component(store.new_id(), project.id, cname)
            store.components[comp.id] = comp
            comps.append(comp.id)
        counts["projects"] += 1
        for n in range(config.issues_per_project):
            issue = _issue(store, project.id, f"{key}-{project.next_number}", task_type, rng, n, people)
            project.next_number += 1
            issue.status_id = project.statuses[n % len(project.statuses)]
            if store.statuses[issue.status_id].category == "done":
                issue.resolution_date = issue.updated
            issue.labels = sorted({rng.choice(["backend", "ux", "urgent", "later"]) for _ in range(n % 3)})
            issue.components = comps[: n % 3 and 1]
            counts["issues"] += 1
            for c in range(config.comments_per_issue):
                author = people[(n + c) % len(people)]
                com = Comment(
                    store.new_id(),
                    issue.id,
                    {
                        "type": "doc",
                        "version": 1,
                        "content": [{"type": "paragraph", "content": [text(f"Comment {c} " + words(rng, 4))]}],
                    },
                    author.account_id,
                    issue.created + 60 * (c + 1),
                    issue.created + 60 * (c + 1),
                )
                store.comments[com.id] = com
                counts["comments"] += 1
            if n < len(config.attachment_sizes):
                size = config.attachment_sizes[n]
                att = Attachment(
                    store.new_id(),
                    issue.id,
                    f"file-{n}.bin",
                    "application/octet-stream",
                    people[0].account_id,
                    issue.created,
                    blob=make_blob(size, f"{config.seed}:{issue.key}"),
                )
                store.attachments[att.id] = att
                counts["attachments"] += 1
            if n < config.links:
                link = RemoteLink(
                    store.new_id(), issue.id, f"https://example.com/spec/{n}", f"Spec {n}", f"seed-link-{issue.key}"
                )
                store.remote_links[link.id] = link
            if config.subtasks_every and n % config.subtasks_every == 0:
                for s in range(2):
                    sub = _issue(store, project.id, f"{key}-{project.next_number}", sub_type, rng, s, people)
                    project.next_number += 1
                    sub.parent_id = issue.id
                    sub.summary = f"Sub-task {s} of {issue.key}"
                    sub.status_id = project.statuses[0 if s == 0 else -1]
                    if store.statuses[sub.status_id].category == "done":
                        sub.resolution_date = sub.updated
                    counts["issues"] += 1
    return counts


def _issue(store: JiraStore, project_id: str, key: str, type_id: str, rng: Any, n: int, people: list[User]) -> Issue:
    created = store.now() - 86_400 * (30 - n % 30)
    issue = Issue(
        id=store.new_id(),
        key=key,
        project_id=project_id,
        type_id=type_id,
        summary=f"{words(rng, 3).capitalize()} {n}",
        status_id="",
        priority_id=str(1 + n % 5),
        reporter=people[0].account_id,
        created=created,
        updated=created + 3600,
        description=rich_description(rng, n, people[1]) if n % 2 == 0 else None,
        assignee=people[n % len(people)].account_id if n % 4 != 3 else None,
        duedate=f"2027-0{1 + n % 9}-1{n % 10}" if n % 3 == 0 else None,
        startdate="2026-12-01" if n % 6 == 0 else None,
    )
    store.issues[issue.id] = issue
    return issue
