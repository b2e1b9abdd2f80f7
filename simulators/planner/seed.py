"""Deterministic seed: a tenant with users, a Microsoft 365 group, plans, buckets, tasks.

Same `SeedConfig` → same ids, texts, dates and file bytes. Files referenced by tasks live in
the group's document library and are generated on demand (`make_blob`), so large sizes cost
no memory.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from simulators.common import long_text, seeded_rng, unicode_text, words
from simulators.planner.rules import hint_between
from simulators.planner.store import (
    App,
    Assignment,
    BlobSource,
    Bucket,
    ChecklistItem,
    DriveItem,
    ExternalReference,
    Group,
    Plan,
    PlannerStore,
    Post,
    Task,
    Thread,
    User,
    identity_set,
)

BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PEOPLE = [
    ("Alice", "Martin", "alice"),
    ("Bob", "Okafor", "bob"),
    ("Chloé", "Dubois", "chloe"),
    ("Дмитрий", "Иванов", "dmitri"),
    ("王", "芳", "wang.fang"),
    ("Zoë", "O'Neil", "zoe"),
]
LABELS = ["Urgent 🔥", "Design", "Backend", "Étiquette à accents", "日本語ラベル", "Blocked"]


@dataclass
class SeedConfig:
    """What to generate. `attachment_sizes` are the sizes (bytes) of SharePoint files that
    tasks reference, handed out round-robin to the tasks that get a file reference."""

    seed: int = 42
    groups: int = 1
    users: int = 6
    plans_per_group: int = 2
    buckets_per_plan: int = 3
    tasks_per_plan: int = 20
    deleted_tasks_per_plan: int = 2
    completed_ratio: float = 0.3
    comment_ratio: float = 0.4
    reference_ratio: float = 0.3
    attachment_sizes: list[int] = field(default_factory=lambda: [1_024, 350_000, 5 * 1024 * 1024])
    long_text_chars: int = 20_000
    tenant_domain: str = "contoso.onmicrosoft.com"
    client_id: str = "5f0c6a1e-4a3b-4c1d-9e2f-0a1b2c3d4e5f"
    client_secret: str = "ferry-sim-secret"
    user_password: str = "Ferry-Sim-Passw0rd!"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeedConfig:
        """Build from `POST /_sim/seed` parameters (unknown keys are rejected)."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown seed parameters: {sorted(unknown)}")
        return cls(**data)


def seed_store(config: SeedConfig) -> PlannerStore:
    """A fresh store filled according to `config`."""
    rng = seeded_rng(config.seed)
    store = PlannerStore(config.seed)
    store.tenant_id = store.ids.guid()
    store.tenant_domain = config.tenant_domain
    store.sharepoint_host = config.tenant_domain.split(".")[0] + ".sharepoint.com"
    store.apps[config.client_id] = App(config.client_id, config.client_secret, "Ferry (simulated)")
    users = _seed_users(store, config)
    for g in range(config.groups):
        group = _seed_group(store, config, g, users)
        for p in range(config.plans_per_group):
            _seed_plan(store, config, rng, group, p)
    return store


def _seed_users(store: PlannerStore, config: SeedConfig) -> list[User]:
    users: list[User] = []
    for i in range(config.users):
        first, last, nick = PEOPLE[i % len(PEOPLE)]
        if i >= len(PEOPLE):
            nick = f"{nick}{i}"
        mail = f"{nick}@{config.tenant_domain}"
        user = User(
            store.ids.guid(), f"{first} {last}", mail, mail, config.user_password, first, last, job_title="Engineer"
        )
        store.users[user.id] = user
        users.append(user)
    # Two directory edge cases: a user who must use MFA (ROPC is refused) and an outsider.
    for nick, mfa in (("mfa.required", True), ("outsider", False)):
        mail = f"{nick}@{config.tenant_domain}"
        extra = User(
            store.ids.guid(), nick.replace(".", " ").title(), mail, mail, config.user_password, mfa_required=mfa
        )
        store.users[extra.id] = extra
    return users


def _seed_group(store: PlannerStore, config: SeedConfig, index: int, users: list[User]) -> Group:
    nick = "ferryteam" if index == 0 else f"ferryteam{index}"
    group = Group(
        store.ids.guid(),
        f"Ferry Team {index + 1} · Équipe",
        nick,
        f"{nick}@{config.tenant_domain}",
        "Seeded Microsoft 365 group",
        BASE_TIME,
        "b!" + store.ids.planner() + store.ids.planner()[:20],
    )
    group.members = [u.id for u in users]
    group.owners = [users[0].id] if users else []
    store.groups[group.id] = group
    return group


def _at(rng: Any, days: int = 90) -> datetime:
    return BASE_TIME + timedelta(minutes=rng.randint(0, days * 24 * 60))


def _seed_plan(store: PlannerStore, config: SeedConfig, rng: Any, group: Group, index: int) -> None:
    owner = identity_set(group.members[0]) if group.members else None
    title = f"Plan {index + 1}: {words(rng, 2)}" + (f" {unicode_text(rng, 1)}" if index % 2 else "")
    plan = Plan(
        store.ids.planner(),
        group.id,
        title,
        _at(rng),
        owner,
        version=store.next_version(),
        details_version=store.next_version(),
    )
    plan.category_descriptions = {f"category{i + 1}": name for i, name in enumerate(LABELS)}
    plan.category_descriptions["category25"] = "Last label (category25)"
    store.plans[plan.id] = plan
    buckets: list[Bucket] = []
    hint = ""
    for b in range(config.buckets_per_plan):
        hint = hint_between(hint, None)
        name = ["To do", "In progress ⏳", "Done ✅"][b] if b < 3 else f"Bucket {b + 1}"
        bucket = Bucket(store.ids.planner(), plan.id, name, hint, version=store.next_version())
        store.buckets[bucket.id] = bucket
        buckets.append(bucket)
    task_hint = ""
    total = config.tasks_per_plan + config.deleted_tasks_per_plan
    for t in range(total):
        task_hint = hint_between(task_hint, None)
        task = _seed_task(store, config, rng, group, plan, buckets, t, task_hint)
        task.deleted = t >= config.tasks_per_plan
        store.tasks[task.id] = task


def _seed_task(
    store: PlannerStore,
    config: SeedConfig,
    rng: Any,
    group: Group,
    plan: Plan,
    buckets: list[Bucket],
    t: int,
    hint: str,
) -> Task:
    members = group.members
    creator = identity_set(rng.choice(members)) if members else None
    if t == 0:
        title = "T" * 255  # the longest title Planner accepts
    elif t % 3 == 1:
        title = f"{words(rng, 3)} {unicode_text(rng, 2)}"[:255]
    else:
        title = f"Task {t + 1}: {words(rng, 4)}"
    created = _at(rng)
    task = Task(
        store.ids.planner(),
        plan.id,
        buckets[t % len(buckets)].id if buckets else None,
        title,
        hint,
        created,
        creator,
        version=store.next_version(),
        details_version=store.next_version(),
    )
    task.priority = rng.choice([1, 3, 5, 9])
    task.applied_categories = {f"category{i}": True for i in rng.sample(range(1, 7), rng.randint(0, 3))}
    if t % 7 == 3:
        task.applied_categories["category25"] = True
    if rng.random() < 0.6:
        task.start = created + timedelta(days=rng.randint(0, 5))
        task.due = task.start + timedelta(days=rng.randint(1, 30))
    for user_id in rng.sample(members, min(len(members), rng.randint(0, 3))):
        task.assignments[user_id] = Assignment(creator, created, hint_between("", None))
    _finish(task, rng, config, creator, created)
    task.description = _description(rng, config, t)
    task.preview_type = "automatic"
    n_items = 20 if t == 2 else rng.randint(0, 5)
    item_hint = ""
    for i in range(n_items):
        item_hint = hint_between(item_hint, None)
        task.checklist[str(10000 + t * 100 + i)] = ChecklistItem(
            f"Step {i + 1}: {words(rng, 2)}" + (" ✔︎" if i % 4 == 0 else ""),
            rng.random() < 0.4,
            item_hint,
            creator,
            created,
        )
    if rng.random() < config.reference_ratio or t == 4:
        _add_references(store, config, rng, group, task, t, creator, created)
    if rng.random() < config.comment_ratio or t == 1:
        _add_comments(store, rng, group, task, created)
    return task


def _finish(task: Task, rng: Any, config: SeedConfig, who: dict[str, Any] | None, created: datetime) -> None:
    roll = rng.random()
    if roll < config.completed_ratio:
        task.percent_complete = 100
        task.completed_at = created + timedelta(days=rng.randint(1, 20))
        task.completed_by = who
    elif roll < config.completed_ratio + 0.3:
        task.percent_complete = 50


def _description(rng: Any, config: SeedConfig, t: int) -> str:
    if t == 5:
        return long_text(rng, config.long_text_chars)
    if t % 4 == 0:
        return ""
    return f'{words(rng, 12)}\n\n{unicode_text(rng, 3)}\nLine with <b>markup-like</b> & "quotes".'


def encode_reference_key(url: str) -> str:
    """Planner reference keys: the URL with '%', '.', ':', '@', '#' percent-encoded."""
    return url.replace("%", "%25").replace(".", "%2E").replace(":", "%3A").replace("@", "%40").replace("#", "%23")


def _add_references(
    store: PlannerStore,
    config: SeedConfig,
    rng: Any,
    group: Group,
    task: Task,
    t: int,
    who: dict[str, Any] | None,
    created: datetime,
) -> None:
    hint = hint_between("", None)
    link = f"https://example.com/docs/{urllib.parse.quote(words(rng, 1))}?id={t}#section"
    task.references[encode_reference_key(link)] = ExternalReference("Spec on example.com", "Other", hint, who, created)
    if config.attachment_sizes:
        size = config.attachment_sizes[len(store.drive_items) % len(config.attachment_sizes)]
        name = f"Task {t + 1} attachment {len(store.drive_items) + 1}.bin"
        item = DriveItem(
            store.ids.planner(),
            group.drive_id,
            group.id,
            name,
            "Planner",
            size,
            "application/octet-stream",
            created,
            created,
            who,
            BlobSource(size, config.seed * 100_003 + len(store.drive_items)),
        )
        store.drive_items[item.id] = item
        task.references[encode_reference_key(store.web_url(item))] = ExternalReference(
            name, "Other", hint_between(hint, None), who, created
        )


def _add_comments(store: PlannerStore, rng: Any, group: Group, task: Task, created: datetime) -> None:
    thread = Thread(store.ids.planner(), group.id, f'Comments on task "{task.title[:80]}"', store.ids.planner())
    for c in range(rng.randint(1, 4)):
        author = rng.choice(group.members) if group.members else None
        text = (
            f"<div>{words(rng, 8)} {unicode_text(rng, 1)}</div>" if c % 2 == 0 else f"<p>Reply {c}: {words(rng, 5)}</p>"
        )
        thread.posts.append(
            Post(store.ids.planner(), thread.id, text, "html", author, created + timedelta(hours=c + 1))
        )
    store.threads[thread.id] = thread
    task.conversation_thread_id = thread.id
