"""Deterministic demo data for the memory vendor (unicode, subtasks, checklists, files)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from shared.connectors.memory.vendor import MemoryVendor, SyntheticBlob
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
)

PEOPLE = (
    UserRef(email="ada@example.com", display_name="Ada Lovelace", source_id="u1"),
    UserRef(email="grace@example.com", display_name="Grace Hopper", source_id="u2"),
    UserRef(email="zoe@example.com", display_name="Zoë Ørsted-Łukasiewicz", source_id="u3"),
)


def seed_project(
    vendor: MemoryVendor,
    *,
    workspace: str = "ws1",
    project: str = "p1",
    sections: int = 3,
    labels: int = 3,
    tasks: int = 10,
    subtasks_every: int = 3,
    comments_per_task: int = 1,
    attachments_every: int = 4,
    attachment_size: int = 3000,
    multi_assignee_every: int = 2,
) -> Project:
    """Seed one project; ids are ``{project}-{kind}{n}`` so tests can address them."""
    if workspace not in vendor.workspaces:
        vendor.add_workspace(workspace, "Workspace ✓")
    base = datetime(2025, 5, 1, 9, 30, tzinfo=UTC)
    proj = Project(
        source_id=project,
        version=vendor.new_version(),
        name=f"Projet « {project} » 🚀",
        description="Long text " * 50,
        workspace_id=workspace,
        members=PEOPLE,
    )
    vendor.put(proj)
    for s in range(sections):
        vendor.put(
            Section(
                source_id=f"{project}-s{s}",
                version=vendor.new_version(),
                project_id=project,
                name=f"Colonne {s} – 進行中",
                position=float(s),
            )
        )
    label_refs = []
    for n in range(labels):
        lab = Label(
            source_id=f"{project}-l{n}",
            version=vendor.new_version(),
            project_id=project,
            name=f"label-{n}",
            color="red",
        )
        vendor.put(lab)
        label_refs.append(LabelRef(source_id=lab.source_id, name=lab.name))
    for t in range(tasks):
        tid = f"{project}-t{t}"
        n_assignees = 2 if multi_assignee_every and t % multi_assignee_every == 0 else 1
        checklist = Checklist(
            name="Étapes",
            items=tuple(
                ChecklistItem(source_id=f"{tid}-c{i}", name=f"step {i}", checked=i == 0, position=float(i))
                for i in range(3)
            ),
        )
        vendor.put(
            Task(
                source_id=tid,
                version=vendor.new_version(),
                project_id=project,
                section_id=f"{project}-s{t % sections}" if sections else None,
                name=f"Tâche {t} — ünïcödé",
                description=f"Description of task {t}\n" * 3,
                completed=t % 5 == 4,
                start_on=date(2025, 6, 1),
                due_on=date(2025, 6, 10) + timedelta(days=t),
                assignees=PEOPLE[:n_assignees],
                labels=tuple(label_refs[: t % (labels + 1)]),
                checklists=(checklist,) if t % 2 else (),
                custom_fields=(CustomFieldValue(name="Estimate", type=CustomFieldType.NUMBER, value=float(t)),),
                position=float(t),
                created_at=base,
                created_by=PEOPLE[0],
            )
        )
        if subtasks_every and t % subtasks_every == 0:
            vendor.put(
                Task(
                    source_id=f"{tid}-sub",
                    version=vendor.new_version(),
                    project_id=project,
                    parent_id=tid,
                    name=f"Sous-tâche {t}",
                    position=0.0,
                )
            )
        for c in range(comments_per_task):
            vendor.put(
                Comment(
                    source_id=f"{tid}-m{c}",
                    version=vendor.new_version(),
                    project_id=project,
                    task_id=tid,
                    text=f"Comment {c} 💬",
                    author=PEOPLE[c % len(PEOPLE)],
                    created_at=base + timedelta(hours=c),
                )
            )
        if attachments_every and t % attachments_every == 0:
            vendor.put(
                Attachment(
                    source_id=f"{tid}-a",
                    version=vendor.new_version(),
                    project_id=project,
                    task_id=tid,
                    name=f"fichier-{t}.bin",
                    size=attachment_size,
                    mime_type="application/octet-stream",
                    created_at=base,
                    author=PEOPLE[1],
                ),
                blob=SyntheticBlob(attachment_size, seed=t),
            )
            vendor.put(
                Attachment(
                    source_id=f"{tid}-link",
                    version=vendor.new_version(),
                    project_id=project,
                    task_id=tid,
                    name="Spec (Google Docs)",
                    is_link=True,
                    url="https://docs.google.com/document/d/x",
                )
            )
    return proj
