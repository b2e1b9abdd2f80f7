"""JSON representations of simulator records, shaped by ``opt_fields``.

Asana answers a *compact* record in lists and the *full* record for a single object
(https://developers.asana.com/docs/inputoutput-options). ``opt_fields=a,b.c`` replaces the
default: the answer holds ``gid`` plus the named fields; a dotted path selects fields of a
nested object, which otherwise appears in compact form. ``html_*`` fields are opt-in only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulators.asana.attachments import download_url
from simulators.asana.models import iso_ts, notes_to_html
from simulators.asana.store import AsanaStore

FieldTree = dict[str, "FieldTree"]
APP = "https://app.asana.com"

COMPACT: dict[str, tuple[str, ...]] = {
    "user": ("gid", "resource_type", "name"),
    "workspace": ("gid", "resource_type", "name"),
    "project": ("gid", "resource_type", "name"),
    "section": ("gid", "resource_type", "name"),
    "task": ("gid", "resource_type", "name", "resource_subtype"),
    "story": ("gid", "resource_type", "created_at", "created_by", "resource_subtype", "text"),
    "tag": ("gid", "resource_type", "name"),
    "attachment": ("gid", "resource_type", "name", "resource_subtype"),
    "custom_field": ("gid", "resource_type", "name", "resource_subtype", "type", "enum_options"),
    "custom_field_setting": ("gid", "resource_type", "custom_field", "project", "is_important"),
}
OPT_IN = {"html_notes", "html_text"}


@dataclass(frozen=True)
class Ref:
    """A reference to another record, expanded lazily when rendered."""

    kind: str
    gid: str


def parse_opt_fields(raw: str | None) -> FieldTree | None:
    """``"name,assignee.email"`` → ``{"name": {}, "assignee": {"email": {}}}``."""
    if not raw:
        return None
    tree: FieldTree = {}
    for path in raw.split(","):
        node = tree
        for part in [p for p in path.strip().split(".") if p and p != "this"]:
            node = node.setdefault(part, {})
    return tree


def _ts(value: float | None) -> str | None:
    return iso_ts(value) if value is not None else None


def _user(gid: str | None) -> Ref | None:
    return Ref("user", gid) if gid else None


class View:
    """Renders records for one request (``server_root`` builds download links)."""

    def __init__(self, store: AsanaStore, server_root: str) -> None:
        self.store = store
        self.server_root = server_root

    # --- public -----------------------------------------------------------------------------

    def one(self, kind: str, obj: Any, opt_fields: FieldTree | None) -> dict[str, Any]:
        """Full record (or the opt_fields selection) of ``obj``."""
        full = self.full(kind, obj)
        if opt_fields is None:
            return {k: self._shape(v, None) for k, v in full.items() if k not in OPT_IN}
        return self._select(full, opt_fields)

    def many(self, kind: str, objs: list[Any], opt_fields: FieldTree | None) -> list[dict[str, Any]]:
        """Compact records (or the opt_fields selection) of ``objs``."""
        if opt_fields is None:
            return [self.compact(kind, o) for o in objs]
        return [self._select(self.full(kind, o), opt_fields) for o in objs]

    def compact(self, kind: str, obj: Any) -> dict[str, Any]:
        full = self.full(kind, obj)
        return {k: self._shape(full[k], None) for k in COMPACT[kind] if k in full}

    # --- shaping ------------------------------------------------------------------------------

    def _lookup(self, ref: Ref) -> Any:
        table: dict[str, Any] = {
            "user": self.store.users,
            "workspace": self.store.workspaces,
            "project": self.store.projects,
            "section": self.store.sections,
            "task": self.store.tasks,
            "story": self.store.stories,
            "tag": self.store.tags,
            "attachment": self.store.attachments,
        }
        return table[ref.kind][ref.gid]

    def _shape(self, value: Any, tree: FieldTree | None) -> Any:
        if isinstance(value, Ref):
            obj = self._lookup(value)
            if not tree:
                return self.compact(value.kind, obj)
            return self._select(self.full(value.kind, obj), tree)
        if isinstance(value, list):
            return [self._shape(v, tree) for v in value]
        if isinstance(value, dict):
            if tree:
                picked = {k: self._shape(value[k], sub) for k, sub in tree.items() if k in value}
                return {"gid": value["gid"], **picked} if "gid" in value else picked
            return {k: self._shape(v, None) for k, v in value.items()}
        return value

    def _select(self, full: dict[str, Any], tree: FieldTree) -> dict[str, Any]:
        out: dict[str, Any] = {"gid": full["gid"]}
        for key, sub in tree.items():
            if key in full:
                out[key] = self._shape(full[key], sub)
        return out

    # --- full records -------------------------------------------------------------------------

    def full(self, kind: str, obj: Any) -> dict[str, Any]:
        return getattr(self, f"_full_{kind}")(obj)  # type: ignore[no-any-return]

    def _full_user(self, u: Any) -> dict[str, Any]:
        return {
            "gid": u.gid,
            "resource_type": "user",
            "name": u.name,
            "email": u.email,
            "photo": None,
            "workspaces": [Ref("workspace", w) for w in u.workspace_gids],
        }

    def _full_workspace(self, w: Any) -> dict[str, Any]:
        return {
            "gid": w.gid,
            "resource_type": "workspace",
            "name": w.name,
            "email_domains": list(w.email_domains),
            "is_organization": w.is_organization,
        }

    def _full_project(self, p: Any) -> dict[str, Any]:
        return {
            "gid": p.gid,
            "resource_type": "project",
            "name": p.name,
            "archived": p.archived,
            "color": p.color,
            "created_at": _ts(p.created_at),
            "custom_field_settings": [],
            "default_view": p.default_view,
            "due_date": p.due_on,
            "due_on": p.due_on,
            "html_notes": notes_to_html(p.notes),
            "members": [Ref("user", m) for m in p.members],
            "modified_at": _ts(p.modified_at),
            "notes": p.notes,
            "public": p.public,
            "privacy_setting": p.privacy_setting,
            "start_on": p.start_on,
            "custom_fields": [],
            "completed": False,
            "completed_at": None,
            "followers": [Ref("user", m) for m in p.members],
            "owner": _user(p.owner),
            "permalink_url": f"{APP}/0/{p.gid}/list",
            "workspace": Ref("workspace", p.workspace),
        }

    def _full_section(self, s: Any) -> dict[str, Any]:
        return {
            "gid": s.gid,
            "resource_type": "section",
            "name": s.name,
            "created_at": _ts(s.created_at),
            "project": Ref("project", s.project),
            "projects": [Ref("project", s.project)],
        }

    def _full_task(self, t: Any) -> dict[str, Any]:
        live_subtasks = [g for g in t.subtask_gids if not self.store.tasks[g].deleted]
        return {
            "gid": t.gid,
            "resource_type": "task",
            "name": t.name,
            "resource_subtype": t.resource_subtype,
            "created_by": ({"gid": t.created_by, "resource_type": "user"} if t.created_by else None),
            "assignee_status": t.assignee_status,
            "completed": t.completed,
            "completed_at": _ts(t.completed_at),
            "completed_by": _user(t.completed_by),
            "created_at": _ts(t.created_at),
            "dependencies": [],
            "dependents": [],
            "due_at": t.due_at,
            "due_on": t.due_on,
            "hearted": t.liked,
            "hearts": [],
            "html_notes": t.html_notes,
            "is_rendered_as_separator": False,
            "liked": t.liked,
            "likes": [],
            "memberships": [{"project": Ref("project", p), "section": Ref("section", s)} for p, s in t.memberships],
            "modified_at": _ts(t.modified_at),
            "notes": t.notes,
            "num_hearts": 0,
            "num_likes": 0,
            "num_subtasks": len(live_subtasks),
            "start_at": t.start_at,
            "start_on": t.start_on,
            "actual_time_minutes": None,
            "assignee": _user(t.assignee),
            "assignee_section": None,
            "custom_fields": [self._custom_value(g, v) for g, v in t.custom_values.items()],
            "followers": [Ref("user", f) for f in t.follower_gids],
            "parent": Ref("task", t.parent) if t.parent else None,
            "projects": [Ref("project", p) for p, _ in t.memberships],
            "tags": [Ref("tag", g) for g in t.tag_gids if not self.store.tags[g].deleted],
            "workspace": Ref("workspace", t.workspace),
            "permalink_url": f"{APP}/0/0/{t.gid}",
        }

    def _custom_value(self, field_gid: str, value: Any) -> dict[str, Any]:
        cf = self.store.custom_fields[field_gid]
        out: dict[str, Any] = {
            "gid": cf.gid,
            "resource_type": "custom_field",
            "name": cf.name,
            "resource_subtype": cf.resource_subtype,
            "type": cf.resource_subtype,
            "enabled": True,
            "display_value": cf.display(value),
        }
        if cf.resource_subtype == "text":
            out["text_value"] = value
        elif cf.resource_subtype == "number":
            out["number_value"] = value
            out["precision"] = cf.precision
        elif cf.resource_subtype == "enum":
            out["enum_options"] = [self._option(o) for o in cf.enum_options]
            option = next((o for o in cf.enum_options if o[0] == value), None)
            out["enum_value"] = self._option(option) if option else None
        elif cf.resource_subtype == "date":
            out["date_value"] = value
        return out

    def _full_custom_field(self, cf: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "gid": cf.gid,
            "resource_type": "custom_field",
            "name": cf.name,
            "resource_subtype": cf.resource_subtype,
            "type": cf.resource_subtype,
            "enabled": True,
            "description": "",
            "is_global_to_workspace": True,
            "has_notifications_enabled": True,
            "created_by": None,
        }
        if cf.resource_subtype == "number":
            out["precision"] = cf.precision
        if cf.resource_subtype == "enum":
            out["enum_options"] = [self._option(o) for o in cf.enum_options]
        return out

    def _full_custom_field_setting(self, setting: Any) -> dict[str, Any]:
        gid, project, field_gid = setting
        return {
            "gid": gid,
            "resource_type": "custom_field_setting",
            "is_important": False,
            "custom_field": self._full_custom_field(self.store.custom_fields[field_gid]),
            "project": Ref("project", project),
            "parent": Ref("project", project),
        }

    @staticmethod
    def _option(option: tuple[str, str, str]) -> dict[str, Any]:
        return {
            "gid": option[0],
            "resource_type": "enum_option",
            "name": option[1],
            "enabled": True,
            "color": option[2],
        }

    def _full_story(self, s: Any) -> dict[str, Any]:
        out = {
            "gid": s.gid,
            "resource_type": "story",
            "created_at": _ts(s.created_at),
            "created_by": _user(s.created_by),
            "resource_subtype": s.resource_subtype,
            "text": s.text,
            "type": s.type,
            "is_editable": s.type == "comment",
            "is_edited": s.is_edited,
            "hearted": False,
            "hearts": [],
            "num_hearts": 0,
            "liked": False,
            "likes": [],
            "num_likes": 0,
            "reaction_summary": [],
            "previews": [],
            "source": "api",
            "target": Ref("task", s.target),
        }
        if s.type == "comment":
            out["html_text"] = s.html_text
            out["is_pinned"] = s.is_pinned
        return out

    def _full_tag(self, t: Any) -> dict[str, Any]:
        return {
            "gid": t.gid,
            "resource_type": "tag",
            "name": t.name,
            "color": t.color,
            "notes": t.notes,
            "created_at": _ts(t.created_at),
            "followers": [Ref("user", f) for f in t.follower_gids],
            "workspace": Ref("workspace", t.workspace),
            "permalink_url": f"{APP}/0/{t.gid}/list",
        }

    def _full_attachment(self, a: Any) -> dict[str, Any]:
        parent_kind = "task" if a.parent in self.store.tasks else "project"
        out: dict[str, Any] = {
            "gid": a.gid,
            "resource_type": "attachment",
            "name": a.name,
            "resource_subtype": a.resource_subtype,
            "created_at": _ts(a.created_at),
            "download_url": download_url(self.store, a, self.server_root),
            "permanent_url": f"{APP}/app/asana/-/get_asset?asset_id={a.gid}",
            "host": a.host,
            "parent": Ref(parent_kind, a.parent),
            "view_url": a.url if a.resource_subtype == "external" else None,
        }
        if a.resource_subtype == "asana":
            out["size"] = a.size
        else:
            out["connected_to_app"] = False
        return out
