"""Deterministic seed data for the Asana simulator.

The same :class:`SeedConfig` always yields the same gids, names, texts, bytes and
timestamps. Content covers what migrations trip over: unicode and very long texts, rich
text, subtasks, comments next to system stories, tags, attachments of chosen sizes
(generated on demand), completed, deleted and archived items, start/due dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from html import escape
from typing import Any

from simulators.asana.attachments import add_blob_attachment, add_external_attachment
from simulators.asana.custom_fields import add_custom_field
from simulators.asana.store import COLORS, AsanaStore
from simulators.asana.tasks import create_comment, create_task, delete_task, update_task
from simulators.common import long_text, seeded_rng, unicode_text, words

DEFAULT_TOKEN = "asana-sim-token"
OAUTH_CLIENT_ID = "asana-sim-client"
OAUTH_CLIENT_SECRET = "asana-sim-secret"
SEED_EPOCH = 1_735_689_600.0  # 2025-01-01T00:00:00Z: seeded timestamps start here
SURNAMES = ("Müller", "Ødegård", "Nakamura", "O'Brien", "Dvořák", "Nguyễn")


@dataclass
class SeedConfig:
    """What to generate. ``projects`` and ``tasks_per_project`` are per workspace."""

    seed: int = 42
    workspaces: int = 1
    users_per_workspace: int = 4
    projects: int = 3
    sections_per_project: int = 3
    tasks_per_project: int = 100
    subtasks_every: int = 5  # every n-th task gets subtasks
    subtasks_per_task: int = 2
    comments_per_task: int = 2
    tags_per_workspace: int = 5
    attachment_sizes: list[int] = field(default_factory=lambda: [2048, 300_000])
    external_links: int = 1  # per project
    completed_every: int = 4
    deleted_per_project: int = 2
    archived_projects: int = 1
    long_text_chars: int = 20_000

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SeedConfig:
        """Build from ``POST /_sim/seed`` JSON (unknown keys are refused)."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown seed parameters: {sorted(unknown)}")
        return cls(**data)


def token_for(user_index: int) -> str:
    """PAT of the n-th seeded user (0 is also reachable as :data:`DEFAULT_TOKEN`)."""
    return DEFAULT_TOKEN if user_index == 0 else f"{DEFAULT_TOKEN}-{user_index}"


def refresh_token_for(user_index: int) -> str:
    """OAuth refresh token of the n-th seeded user (client :data:`OAUTH_CLIENT_ID`)."""
    return f"asana-sim-refresh-{user_index}"


def auth_code_for(user_index: int) -> str:
    """A one-time OAuth authorization code of the n-th seeded user."""
    return f"asana-sim-code-{user_index}"


def seed_store(store: AsanaStore, config: SeedConfig | None = None) -> dict[str, Any]:
    """Fill ``store`` (after ``reset()``) and return a summary of what was made."""
    cfg = config or SeedConfig()
    store.reset()
    rng = seeded_rng(cfg.seed)
    store.oauth_clients[OAUTH_CLIENT_ID] = OAUTH_CLIENT_SECRET
    user_index = 0
    summary: dict[str, Any] = {"workspaces": [], "tokens": {}}
    for w in range(cfg.workspaces):
        ws = store.add_workspace(
            f"Workspace {w + 1} · {unicode_text(rng, 1)}", email_domains=[f"ws{w + 1}.example.com"]
        )
        users = []
        for u in range(cfg.users_per_workspace):
            name = f"User {u + 1} {rng.choice(SURNAMES)}"
            tok = token_for(user_index)
            users.append(store.add_user(name, f"user{u + 1}@ws{w + 1}.example.com", [ws.gid], token=tok))
            summary["tokens"][tok] = users[-1].gid
            store.refresh_tokens[refresh_token_for(user_index)] = users[-1].gid
            store.auth_codes[auth_code_for(user_index)] = users[-1].gid
            user_index += 1
        me = users[0].gid
        tags = [
            store.create_tag(me, {"name": f"{words(rng, 1)}-{t}", "color": rng.choice(COLORS)}, ws.gid)
            for t in range(cfg.tags_per_workspace)
        ]
        fields = [
            add_custom_field(store, ws.gid, "Ticket", "text"),
            add_custom_field(store, ws.gid, "Estimate (h)", "number", precision=1),
            add_custom_field(
                store, ws.gid, "Priorité", "enum", options=[("Low", "light-green"), ("High 🔥", "dark-red")]
            ),
        ]
        for p in range(cfg.projects):
            _seed_project(store, cfg, rng, ws.gid, users, tags, p, fields)
        summary["workspaces"].append(ws.gid)
    _normalise_times(store)
    summary["counts"] = {
        k: len(getattr(store, k)) for k in ("users", "projects", "sections", "tasks", "stories", "tags", "attachments")
    }
    return summary


def _seed_project(
    store: AsanaStore,
    cfg: SeedConfig,
    rng: Any,
    ws_gid: str,
    users: list[Any],
    tags: list[Any],
    index: int,
    fields: list[Any],
) -> None:
    me = users[0].gid
    proj = store.create_project(
        me,
        {
            "name": f"Project {index + 1}: {words(rng, 2)}",
            "notes": f"Seeded project {index + 1}. {unicode_text(rng, 2)}",
            "color": rng.choice(COLORS),
        },
        ws_gid,
    )
    first = store.live_sections(proj.gid)[0]
    store.update_section(first.gid, {"name": "To do"})
    sections = [first] + [
        store.create_section(proj.gid, {"name": f"{words(rng, 1)} {s + 2}"})
        for s in range(cfg.sections_per_project - 1)
    ]
    tasks = []
    for t in range(cfg.tasks_per_project):
        sec = sections[t % len(sections)]
        data: dict[str, Any] = {"name": _task_name(rng, t), "memberships": [{"project": proj.gid, "section": sec.gid}]}
        if t == 0:
            data["notes"] = long_text(rng, cfg.long_text_chars)
        elif t % 3 == 0:
            data["html_notes"] = (
                f"<body><strong>{words(rng, 2)}</strong> "
                f"{escape(unicode_text(rng, 1))} &amp; <em>{words(rng, 3)}</em>"
                f"<ul><li>{words(rng, 2)}</li><li>{words(rng, 2)}</li></ul>"
                "</body>"
            )
        else:
            data["notes"] = words(rng, 8)
        if t % 2 == 0:
            data["assignee"] = rng.choice(users).gid
        if t % 5 == 1:
            data.update(due_on=f"2025-0{1 + t % 9}-1{t % 10}", start_on=f"2025-0{1 + t % 9}-01")
        elif t % 5 == 2:
            data["due_at"] = f"2025-03-{10 + t % 18}T15:30:00.000Z"
        if tags and t % 3 == 1:
            data["tags"] = [tg.gid for tg in rng.sample(tags, min(2, len(tags)))]
        if t % 4 == 0:
            data["custom_fields"] = {
                fields[0].gid: f"T-{1000 + t}",
                fields[1].gid: round(rng.uniform(0.5, 40), 1),
                fields[2].gid: fields[2].enum_options[t % 2][0],
            }
        task = create_task(store, me, data)
        tasks.append(task)
        if cfg.subtasks_every and t % cfg.subtasks_every == 0:
            for s in range(cfg.subtasks_per_task):
                create_task(
                    store, me, {"name": f"Step {s + 1}: {words(rng, 2)}", "completed": s == 0}, parent_gid=task.gid
                )
        for c in range(cfg.comments_per_task):
            author = users[(t + c) % len(users)].gid
            text = unicode_text(rng, 3) if c % 2 else words(rng, 6)
            create_comment(store, author, task.gid, {"text": text})
        if cfg.completed_every and t % cfg.completed_every == cfg.completed_every - 1:
            update_task(store, rng.choice(users).gid, task.gid, {"completed": True})
    for i, size in enumerate(cfg.attachment_sizes):
        if tasks:
            target = tasks[i % len(tasks)]
            add_blob_attachment(store, target.gid, f"file-{i + 1}-{size}.bin", size, f"{cfg.seed}:{proj.gid}:{i}")
    for i in range(cfg.external_links):
        if tasks:
            add_external_attachment(store, me, tasks[-1 - i].gid, f"Spec {i + 1}", f"https://example.com/spec/{i + 1}")
    for task in tasks[-cfg.deleted_per_project - 1 : -1] if cfg.deleted_per_project else []:
        delete_task(store, task.gid)
    if index < cfg.archived_projects and cfg.projects > 1:
        store.update_project(me, proj.gid, {"archived": True})


def _task_name(rng: Any, t: int) -> str:
    if t % 7 == 3:
        return f"Task {t + 1} 🚀 {unicode_text(rng, 2)}"
    if t % 50 == 5:
        return f"Task {t + 1} " + long_text(rng, 600).replace("\n", " ")
    return f"Task {t + 1} {words(rng, 3)}"


def _normalise_times(store: AsanaStore) -> None:
    """Give seeded objects fixed timestamps (in gid order) so the seed is reproducible."""
    rows: list[Any] = [
        *store.projects.values(),
        *store.sections.values(),
        *store.tasks.values(),
        *store.stories.values(),
        *store.tags.values(),
        *store.attachments.values(),
    ]
    rows.sort(key=lambda r: int(r.gid))
    for i, row in enumerate(rows):
        t = SEED_EPOCH + i * 37.0
        row.created_at = t
        if hasattr(row, "modified_at"):
            row.modified_at = t + 60.0
        if getattr(row, "completed_at", None) is not None:
            row.completed_at = t + 30.0
    # A task's version must move with everything that touched it (stories, attachments).
    touches = [(s.target, s.created_at) for s in store.stories.values()]
    touches += [(a.parent, a.created_at) for a in store.attachments.values()]
    for owner_gid, when in touches:
        owner = store.tasks.get(owner_gid)
        if owner is not None:
            owner.modified_at = max(owner.modified_at, when + 1.0)
    store._last_stamp = 0.0
