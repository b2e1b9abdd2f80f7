"""`GET /_sim/state`: a JSON dump of the whole tenant for tests (not part of Graph)."""

from __future__ import annotations

from typing import Any

from simulators.planner.store import BlobSource, PlannerStore, iso
from simulators.planner.views import (
    bucket_json,
    plan_details_json,
    plan_json,
    task_details_json,
    task_json,
)


def dump_state(store: PlannerStore) -> dict[str, Any]:
    """Everything, deleted items included (flagged `deleted`), plus the sign-in credentials."""
    return {
        "tenant": {"id": store.tenant_id, "domain": store.tenant_domain},
        "credentials": {
            "apps": [{"client_id": a.client_id, "client_secret": a.client_secret} for a in store.apps.values()],
            "users": [
                {"username": u.user_principal_name, "password": u.password, "mfa_required": u.mfa_required}
                for u in store.users.values()
            ],
        },
        "users": [u.to_graph() for u in store.users.values()],
        "groups": [{**g.to_graph(), "members": g.members, "driveId": g.drive_id} for g in store.groups.values()],
        "plans": [
            {**plan_json(p), "details": plan_details_json(p), "deleted": p.deleted} for p in store.plans.values()
        ],
        "buckets": [{**bucket_json(b), "deleted": b.deleted} for b in store.buckets.values()],
        "tasks": [
            {**task_json(t), "details": task_details_json(t), "deleted": t.deleted} for t in store.tasks.values()
        ],
        "threads": [
            {
                **t.to_graph(store),
                "groupId": t.group_id,
                "posts": [p.to_graph(store, t.conversation_id) for p in t.posts],
            }
            for t in store.threads.values()
        ],
        "driveItems": [
            {
                "id": i.id,
                "driveId": i.drive_id,
                "path": i.path,
                "size": i.size,
                "webUrl": store.web_url(i),
                "createdDateTime": iso(i.created),
                "generated": isinstance(i.content, BlobSource),
                "blobSeed": i.content.seed if isinstance(i.content, BlobSource) else None,
            }
            for i in store.drive_items.values()
        ],
    }
