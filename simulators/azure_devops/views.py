"""``GET /_sim/state``: a JSON dump of the organization for tests and people."""

from __future__ import annotations

from typing import Any

from simulators.azure_devops.store import Node, Store


def _node(node: Node) -> dict[str, Any]:
    return {"id": node.id, "name": node.name, "children": [_node(c) for c in node.children]}


def dump_state(store: Store) -> dict[str, Any]:
    return {
        "organization": store.organization,
        "tenant_id": store.tenant_id,
        "users": [{"id": i.id, "displayName": i.display_name, "email": i.email} for i in store.identities.values()],
        "credentials": {
            "pats": {i.email: i.pats for i in store.identities.values() if i.pats},
            "apps": {a.client_id: a.client_secret for a in store.apps.values()},
        },
        "projects": [
            {
                "id": p.id,
                "name": p.name,
                "state": p.state,
                "process": store.processes[p.process_id].name,
                "areas": _node(p.area),
                "iterations": _node(p.iteration),
            }
            for p in store.projects.values()
        ],
        "work_items": [
            {
                "id": w.id,
                "project": w.project_id,
                "rev": w.rev,
                "deleted": w.deleted,
                "fields": dict(w.fields),
                "relations": [{"rel": r.rel, "url": r.url, "attributes": dict(r.attributes)} for r in w.relations],
            }
            for w in store.work_items.values()
        ],
        "comments": {
            str(k): [{"id": c.id, "text": c.text, "by": c.created_by, "deleted": c.deleted} for c in v]
            for k, v in store.comments.items()
        },
        "attachments": [
            {"id": a.id, "name": a.name, "size": a.size, "complete": a.complete} for a in store.attachments.values()
        ],
    }
