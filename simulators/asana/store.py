"""In-memory state of the Asana simulator: lookups, users, projects, sections and tags.

Task, story and attachment operations live in :mod:`simulators.asana.tasks` and
:mod:`simulators.asana.attachments`; they work on this store.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from collections import defaultdict
from contextvars import ContextVar
from dataclasses import asdict
from typing import Any, TypeVar

from simulators.asana.models import (
    AsanaApiError,
    Attachment,
    CustomField,
    Project,
    Section,
    Story,
    Tag,
    Task,
    User,
    Workspace,
    bad_request,
    html_to_notes,
    iso_ts,
    notes_to_html,
    unknown_object,
)
from simulators.asana.pagination import OffsetTokens
from simulators.common import SimClock

R = TypeVar("R")

COLORS = (
    "dark-pink",
    "dark-green",
    "dark-blue",
    "dark-red",
    "dark-teal",
    "dark-brown",
    "dark-orange",
    "dark-purple",
    "dark-warm-gray",
    "light-pink",
    "light-green",
    "light-blue",
    "light-red",
    "light-teal",
    "light-brown",
    "light-orange",
    "light-purple",
    "light-warm-gray",
)
GID_BASE = 1_200_000_000_000_000
#: The user making the current API request (set by the gate); None for seeding and tests.
CALLER: ContextVar[str | None] = ContextVar("asana_caller", default=None)


class AsanaStore:
    """All objects of one simulated Asana instance, keyed by gid (a numeric string)."""

    def __init__(
        self,
        clock: SimClock | None = None,
        *,
        offset_ttl_s: float = 3600.0,
        unpaginated_max: int = 1000,
        max_attachment_bytes: int = 100 * 1024 * 1024,
    ):
        self.clock = clock or SimClock()
        self.lock = threading.RLock()
        self.offsets = OffsetTokens(self.clock, offset_ttl_s)
        self.unpaginated_max = unpaginated_max
        self.max_attachment_bytes = max_attachment_bytes
        self.download_ttl_s = 120.0
        self.reset()

    def reset(self) -> None:
        """Forget every object (used before re-seeding)."""
        if getattr(self, "attachments", None):
            self.close()
        self._next = GID_BASE
        self._last_stamp = 0.0
        self.tokens: dict[str, str] = {}
        #: OAuth access tokens expire (monotonic deadline); PATs are not in here
        self.token_expiry: dict[str, float] = {}
        self.oauth_clients: dict[str, str] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.auth_codes: dict[str, str] = {}
        #: code → what the authorize page bound it to (client_id, redirect_uri, PKCE challenge)
        self.code_grants: dict[str, dict[str, str]] = {}
        #: client id → its registered redirect URIs (none registered: any http(s) URL)
        self.oauth_redirect_uris: dict[str, list[str]] = {}
        self.workspaces: dict[str, Workspace] = {}
        self.users: dict[str, User] = {}
        self.projects: dict[str, Project] = {}
        self.sections: dict[str, Section] = {}
        self.tasks: dict[str, Task] = {}
        self.stories: dict[str, Story] = {}
        self.tags: dict[str, Tag] = {}
        self.attachments: dict[str, Attachment] = {}
        self.custom_fields: dict[str, CustomField] = {}
        #: project gid → its custom field settings, (setting gid, project gid, field gid)
        self.custom_field_settings: dict[str, list[tuple[str, str, str]]] = {}
        # children by parent gid, so listing a task's stories/attachments is not a full scan
        self.stories_by_task: defaultdict[str, list[str]] = defaultdict(list)
        self.attachments_by_parent: defaultdict[str, list[str]] = defaultdict(list)
        self.upload_dir: str | None = None

    def add_story(self, story: Story) -> Story:
        """Store a story and index it under its task."""
        self.stories[story.gid] = story
        self.stories_by_task[story.target].append(story.gid)
        return story

    def add_attachment(self, att: Attachment) -> Attachment:
        """Store an attachment and index it under its parent."""
        self.attachments[att.gid] = att
        self.attachments_by_parent[att.parent].append(att.gid)
        return att

    # --- ids and time --------------------------------------------------------------------

    def new_gid(self) -> str:
        """Next gid; deterministic for a given sequence of operations."""
        with self.lock:
            self._next += 1
            return str(self._next)

    def now(self) -> float:
        """Wall-clock epoch seconds from the injectable clock."""
        return self.clock.time()

    def stamp(self) -> float:
        """A strictly increasing ``modified_at`` (1 ms apart), so it works as a version."""
        with self.lock:
            # Whole milliseconds, so the value survives the ISO round trip exactly.
            ms = max(int(self.now() * 1000), round(self._last_stamp * 1000) + 1)
            self._last_stamp = ms / 1000
            return self._last_stamp

    def close(self) -> None:
        """Remove uploaded temp files (also run when the store is garbage collected)."""
        for att in self.attachments.values():
            if att.path and os.path.exists(att.path):
                os.unlink(att.path)
                att.path = None

    def uploads_dir(self) -> str:
        """A private temp directory for uploaded files, removed with the store."""
        if self.upload_dir is None:
            self.upload_dir = tempfile.mkdtemp(prefix="asana-sim-")
            weakref.finalize(self, shutil.rmtree, self.upload_dir, True)
        return self.upload_dir

    # --- lookups (deleted objects answer 404 like the real API) --------------------------

    def _live(self, table: dict[str, Any], kind: str, gid: str) -> Any:
        obj = table.get(str(gid))
        if obj is None or getattr(obj, "deleted", False):
            raise unknown_object(kind, str(gid))
        self._check_visible(kind, obj)
        return obj

    def _workspace_of(self, kind: str, obj: Any) -> str | None:
        if kind == "workspace":
            return str(obj.gid)
        if kind in ("project", "task", "tag"):
            return str(obj.workspace)
        if kind == "section":
            return str(self.projects[obj.project].workspace)
        if kind == "story":
            return str(self.tasks[obj.target].workspace)
        if kind == "attachment":
            parent = self.tasks.get(obj.parent) or self.projects.get(obj.parent)
            return str(parent.workspace) if parent else None
        return None

    def _check_visible(self, kind: str, obj: Any) -> None:
        """403 for objects of a workspace the calling user is not a member of."""
        me = CALLER.get()
        if me is None or me not in self.users:
            return
        ws = self._workspace_of(kind, obj)
        if ws is not None and ws not in self.users[me].workspace_gids:
            raise AsanaApiError(403, f"{kind}: You do not have access to {obj.gid}")

    def workspace(self, gid: str) -> Workspace:
        return self._live(self.workspaces, "workspace", gid)  # type: ignore[no-any-return]

    def project(self, gid: str) -> Project:
        return self._live(self.projects, "project", gid)  # type: ignore[no-any-return]

    def section(self, gid: str) -> Section:
        return self._live(self.sections, "section", gid)  # type: ignore[no-any-return]

    def task(self, gid: str) -> Task:
        return self._live(self.tasks, "task", gid)  # type: ignore[no-any-return]

    def story(self, gid: str) -> Story:
        return self._live(self.stories, "story", gid)  # type: ignore[no-any-return]

    def tag(self, gid: str) -> Tag:
        return self._live(self.tags, "tag", gid)  # type: ignore[no-any-return]

    def attachment(self, gid: str) -> Attachment:
        return self._live(self.attachments, "attachment", gid)  # type: ignore[no-any-return]

    def user(self, ref: str, *, me: str | None = None) -> User:
        """A user by gid, ``me`` or email (Asana accepts all three wherever a user goes)."""
        if ref == "me" and me is not None:
            ref = me
        if ref in self.users:
            return self.users[ref]
        for u in self.users.values():
            if u.email.lower() == str(ref).lower():
                return u
        raise unknown_object("user", str(ref))

    def user_ref(self, value: Any, field_name: str, me: str) -> str:
        """Resolve a user given in a request field (one string) or 400."""
        if not isinstance(value, str):
            raise bad_request(f'{field_name}: Not a valid user reference; expected one gid, email or "me"')
        try:
            return self.user(value, me=me).gid
        except Exception as exc:
            raise bad_request(f"{field_name}: Not a recognized ID: {value}") from exc

    def user_by_token(self, token: str) -> User | None:
        """The user a PAT or an unexpired OAuth access token belongs to, or None."""
        gid = self.tokens.get(token)
        deadline = self.token_expiry.get(token)
        if deadline is not None and self.clock.monotonic() >= deadline:
            return None
        return self.users.get(gid) if gid else None

    # --- users and workspaces -------------------------------------------------------------

    def add_workspace(
        self, name: str, *, is_organization: bool = False, email_domains: list[str] | None = None
    ) -> Workspace:
        ws = Workspace(self.new_gid(), name, is_organization, list(email_domains or []))
        self.workspaces[ws.gid] = ws
        return ws

    def add_user(self, name: str, email: str, workspace_gids: list[str], token: str | None = None) -> User:
        user = User(self.new_gid(), name, email, list(workspace_gids))
        self.users[user.gid] = user
        for w in workspace_gids:
            self.workspaces[w].user_gids.append(user.gid)
        if token:
            self.tokens[token] = user.gid
        return user

    # --- projects ---------------------------------------------------------------------------

    def create_project(self, me: str, data: dict[str, Any], workspace_gid: str | None) -> Project:
        """POST /projects or /workspaces/{gid}/projects. Adds the default section."""
        ws_gid = workspace_gid or data.get("workspace")
        if not ws_gid:
            raise bad_request("workspace: Missing input")
        ws = self.workspace(ws_gid)
        if ws.is_organization and not data.get("team"):
            raise bad_request("team: Missing input")
        now = self.stamp()
        proj = Project(self.new_gid(), ws.gid, str(data.get("name") or ""), now, now, owner=me, members=[me])
        self._apply_project(proj, data, me)
        self.projects[proj.gid] = proj
        # Asana gives every new list project one section, "Untitled section".
        self.create_section(proj.gid, {"name": "Untitled section"})
        return proj

    def _apply_project(self, proj: Project, data: dict[str, Any], me: str) -> None:
        if "notes" in data and "html_notes" in data:
            raise bad_request("You may only provide one of notes or html_notes")
        for key in ("name", "archived", "default_view", "public", "privacy_setting"):
            if key in data:
                setattr(proj, key, data[key])
        if "notes" in data:
            proj.notes = str(data["notes"] or "")
        if "html_notes" in data:
            proj.notes = html_to_notes(str(data["html_notes"]))
        if "color" in data:
            if data["color"] not in (*COLORS, "none", None):
                raise bad_request(f"color: Not a valid enum value: {data['color']}")
            proj.color = data["color"]
        if "owner" in data:
            proj.owner = self.user_ref(data["owner"], "owner", me) if data["owner"] else None
        for key in ("due_on", "due_date", "start_on"):
            if key in data:
                setattr(proj, "due_on" if key == "due_date" else key, data[key])
        if proj.start_on and not proj.due_on:
            raise bad_request("start_on: A start date requires a due date")
        if proj.start_on and proj.due_on and proj.start_on > proj.due_on:
            raise bad_request("start_on: The start date must be on or before the due date")

    def update_project(self, me: str, gid: str, data: dict[str, Any]) -> Project:
        proj = self.project(gid)
        self._apply_project(proj, data, me)
        proj.modified_at = self.stamp()
        return proj

    def delete_project(self, gid: str) -> None:
        """Delete a project; tasks homed only there go to the trash with it."""
        proj = self.project(gid)
        proj.deleted = True
        for task in self.tasks.values():
            homes = [p for p, _ in task.memberships]
            if gid in homes:
                task.memberships = [(p, s) for p, s in task.memberships if p != gid]
                if not task.memberships and task.parent is None:
                    task.deleted = True
                task.modified_at = self.stamp()

    def projects_of(self, workspace_gid: str, archived: bool | None) -> list[Project]:
        self.workspace(workspace_gid)
        return [
            p
            for p in self.projects.values()
            if p.workspace == workspace_gid and not p.deleted and (archived is None or p.archived == archived)
        ]

    def project_html_notes(self, proj: Project) -> str:
        return notes_to_html(proj.notes)

    # --- sections ---------------------------------------------------------------------------

    def create_section(self, project_gid: str, data: dict[str, Any]) -> Section:
        proj = self.project(project_gid)
        if not data.get("name"):
            raise bad_request("name: Missing input")
        sec = Section(self.new_gid(), proj.gid, str(data["name"]), self.now())
        self.sections[sec.gid] = sec
        self._place(proj.section_gids, sec.gid, data.get("insert_before"), data.get("insert_after"), "section")
        return sec

    @staticmethod
    def _place(order: list[str], gid: str, before: str | None, after: str | None, kind: str) -> None:
        if gid in order:
            order.remove(gid)
        if before and after:
            raise bad_request("You may only provide one of insert_before or insert_after")
        anchor = before or after
        if anchor:
            if anchor not in order:
                raise bad_request(
                    f"{'insert_before' if before else 'insert_after'}: {kind} {anchor} is not in the same container"
                )
            idx = order.index(anchor) + (0 if before else 1)
            order.insert(idx, gid)
        else:
            order.append(gid)

    def update_section(self, gid: str, data: dict[str, Any]) -> Section:
        sec = self.section(gid)
        if "name" in data:
            if not data["name"]:
                raise bad_request("name: Missing input")
            sec.name = str(data["name"])
        if data.get("insert_before") or data.get("insert_after"):
            self._place(
                self.project(sec.project).section_gids,
                sec.gid,
                data.get("insert_before"),
                data.get("insert_after"),
                "section",
            )
        return sec

    def delete_section(self, gid: str) -> None:
        """Sections must be empty to be deleted, and the last one cannot be deleted."""
        sec = self.section(gid)
        proj = self.project(sec.project)
        if any(not self.tasks[t].deleted for t in sec.task_gids):
            raise bad_request("Sections must be empty to be deleted")
        if len([s for s in proj.section_gids if not self.sections[s].deleted]) <= 1:
            raise bad_request("The last remaining section in a project cannot be deleted")
        sec.deleted = True
        proj.section_gids.remove(sec.gid)

    def live_sections(self, project_gid: str) -> list[Section]:
        proj = self.project(project_gid)
        return [self.sections[s] for s in proj.section_gids if not self.sections[s].deleted]

    # --- tags -------------------------------------------------------------------------------

    def create_tag(self, me: str, data: dict[str, Any], workspace_gid: str | None) -> Tag:
        ws_gid = workspace_gid or data.get("workspace")
        if not ws_gid:
            raise bad_request("workspace: Missing input")
        ws = self.workspace(ws_gid)
        color = data.get("color")
        if color not in (*COLORS, None):
            raise bad_request(f"color: Not a valid enum value: {color}")
        tag = Tag(
            self.new_gid(),
            ws.gid,
            str(data.get("name") or ""),
            self.now(),
            color,
            str(data.get("notes") or ""),
            [self.user_ref(f, "followers", me) for f in data.get("followers") or []],
        )
        self.tags[tag.gid] = tag
        return tag

    def update_tag(self, gid: str, data: dict[str, Any]) -> Tag:
        tag = self.tag(gid)
        for key in ("name", "color", "notes"):
            if key in data:
                setattr(tag, key, data[key])
        return tag

    def tags_of(self, workspace_gid: str) -> list[Tag]:
        self.workspace(workspace_gid)
        return [t for t in self.tags.values() if t.workspace == workspace_gid and not t.deleted]

    # --- inspection -------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """JSON-able copy of everything (deleted objects included, flagged)."""

        def table(rows: dict[str, Any]) -> dict[str, Any]:
            out = {}
            for gid, obj in rows.items():
                row = asdict(obj)
                for key in ("created_at", "modified_at", "completed_at"):
                    if isinstance(row.get(key), float):
                        row[key] = iso_ts(row[key])
                out[gid] = row
            return out

        with self.lock:
            return {
                "workspaces": table(self.workspaces),
                "users": table(self.users),
                "tokens": dict(self.tokens),
                "refresh_tokens": dict(self.refresh_tokens),
                "projects": table(self.projects),
                "sections": table(self.sections),
                "tasks": table(self.tasks),
                "stories": table(self.stories),
                "tags": table(self.tags),
                "custom_fields": table(self.custom_fields),
                "custom_field_settings": {
                    p: [f for _, _, f in settings] for p, settings in self.custom_field_settings.items()
                },
                "attachments": table(self.attachments),
            }
