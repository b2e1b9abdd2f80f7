"""Who and where: the signed-in account, its groups and plans, and tenant users by id or
e-mail — the look-ups reader and writer both make, cached for the life of one of them."""

from __future__ import annotations

import asyncio

from shared.connectors.kit.errors import status_of
from shared.connectors.planner.api_types import GraphGroup, GraphUser, PlannerPlan, PlannerTask
from shared.connectors.planner.client import ITEM_ERRORS, PlannerClient
from shared.connectors.planner.placement import KeyedLocks
from shared.contract.model import Container, ContainerKind, UserRef
from shared.errors import SkippableItemError

USER_FIELDS = "id,displayName,mail,userPrincipalName"


class Directory:
    """Graph's directory and plan look-ups for one reader or writer."""

    def __init__(self, client: PlannerClient) -> None:
        self.client = client
        self._users: dict[str, UserRef] = {}
        self._ids_by_email: dict[str, str | None] = {}
        self._plans: dict[str, PlannerPlan] = {}
        self._locks = KeyedLocks()

    async def whoami(self) -> UserRef:
        """The signed-in user (delegated) or the application (app-only token)."""
        if not self.client.delegated:
            await self.client.authorize()  # proves the secret works
            return UserRef(source_id=f"app:{self.client.client_id}", display_name="Entra application")
        me = GraphUser.model_validate(await self.client.get_json("/me"))
        return UserRef(email=me.mail or me.user_principal_name, display_name=me.display_name, source_id=me.id)

    async def creator_id(self) -> str | None:
        """The id Planner records in ``createdBy`` for this credential's writes."""
        if self.client.delegated:
            return (await self.whoami()).source_id
        return self.client.client_id

    async def groups(self) -> list[GraphGroup]:
        """Microsoft 365 groups the credential can use (memberships when delegated)."""
        if self.client.delegated:
            raw = await self.client.get_all("/me/memberOf")
        else:
            raw = await self.client.get_all("/groups", {"$filter": "groupTypes/any(c:c eq 'Unified')"})
        groups = [GraphGroup.model_validate(g) for g in raw]
        return [g for g in groups if g.odata_type in (None, "#microsoft.graph.group") and "Unified" in g.group_types]

    async def list_containers(self) -> list[Container]:
        out: list[Container] = []
        for group in await self.groups():
            out.append(Container(id=group.id, name=group.display_name or group.id, kind=ContainerKind.WORKSPACE))
            for raw in await self.client.get_all(f"/groups/{group.id}/planner/plans"):
                plan = PlannerPlan.model_validate(raw)
                self._plans[plan.id] = plan
                out.append(Container(id=plan.id, name=plan.title, kind=ContainerKind.PLAN, parent_id=group.id))
        return out

    async def plan(self, plan_id: str, *, fresh: bool = False) -> PlannerPlan:
        # one read at a time per plan: the items of a page ask for the same plan at once
        async with self._locks(f"plan|{plan_id}"):
            if fresh or plan_id not in self._plans:
                raw = await self.client.get_json(f"/planner/plans/{plan_id}")
                self._plans[plan_id] = PlannerPlan.model_validate(raw)
            return self._plans[plan_id]

    def remember_plan(self, plan: PlannerPlan) -> None:
        """A plan as a create answered it (its group does not change)."""
        self._plans[plan.id] = plan

    async def group_of(self, plan_id: str) -> str:
        group = (await self.plan(plan_id)).group_id
        if not group:
            raise SkippableItemError(f"plan {plan_id} is not in a group")
        return group

    async def task(self, task_id: str) -> PlannerTask:
        """A task as it is now (not cached: its etag and thread change)."""
        return PlannerTask.model_validate(await self.client.get_json(f"/planner/tasks/{task_id}"))

    async def members(self, group_id: str | None) -> tuple[UserRef, ...]:
        """A group's people (sorted by e-mail for a stable version)."""
        if not group_id:
            return ()
        raw = await self.client.get_all(f"/groups/{group_id}/members", {"$select": USER_FIELDS})
        users = [
            GraphUser.model_validate(u)
            for u in raw
            if u.get("@odata.type", "#microsoft.graph.user") == "#microsoft.graph.user"
        ]
        refs = [
            UserRef(email=u.mail or u.user_principal_name, display_name=u.display_name, source_id=u.id) for u in users
        ]
        return tuple(sorted(refs, key=lambda r: (r.email or "", r.source_id or "")))

    async def users(self, user_ids: set[str]) -> dict[str, UserRef]:
        """UserRefs (with e-mail) for user ids, cached; unknown ids keep only their id."""
        missing = [uid for uid in user_ids if uid not in self._users]

        async def one(uid: str) -> None:
            try:
                raw = await self.client.get_json(f"/users/{uid}", {"$select": USER_FIELDS})
            except ITEM_ERRORS as exc:
                if status_of(exc) not in (403, 404):
                    raise
                self._users[uid] = UserRef(source_id=uid)
                return
            user = GraphUser.model_validate(raw)
            self._users[uid] = UserRef(
                email=user.mail or user.user_principal_name, display_name=user.display_name, source_id=user.id
            )

        await asyncio.gather(*(one(uid) for uid in missing))
        return {uid: self._users[uid] for uid in user_ids}

    async def user_id_for(self, ref: UserRef) -> str | None:
        """The tenant user id for a person, looked up by e-mail (mail or UPN)."""
        email = (ref.email or "").strip().lower()
        if not email:
            return None
        if email not in self._ids_by_email:
            quoted = email.replace("'", "''")
            found = await self.client.get_json(
                "/users",
                {
                    "$filter": f"mail eq '{quoted}' or userPrincipalName eq '{quoted}'",
                    "$select": "id,mail,userPrincipalName",
                },
            )
            values = found.get("value", [])
            self._ids_by_email[email] = str(values[0]["id"]) if values else None
        return self._ids_by_email[email]
