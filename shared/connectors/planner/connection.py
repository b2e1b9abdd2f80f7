"""Building a Planner connection: settings, capabilities, and what reader and writer share."""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import httpx

from shared.connectors.planner.api_types import GraphGroup, GraphUser, PlannerPlan
from shared.connectors.planner.client import (
    GRAPH_BASE_URL,
    GRAPH_RATE_LIMIT,
    ITEM_ERRORS,
    LOGIN_BASE_URL,
    GraphClient,
    PlannerCredentials,
    TokenSource,
    status_of,
)
from shared.connectors.settings import PlannerClientCredentials, PlannerConnection
from shared.contract.clock import Clock, SystemClock
from shared.contract.connector import Capabilities, ChecklistSupport, MarkerLocation
from shared.contract.model import Container, ContainerKind, Kind, UserRef
from shared.contract.pacer import Pacer
from shared.errors import SkippableItemError
from shared.net.http import build_client

ALL_KINDS = frozenset(Kind)


def planner_capabilities() -> Capabilities:
    """What Planner can hold (see shared/connectors/planner/README.md for the reasons)."""
    return Capabilities(
        vendor="planner",
        read_kinds=ALL_KINDS,
        write_kinds=ALL_KINDS,
        max_assignees=20,
        max_labels_per_project=25,  # category1..category25 in v1.0
        labels_per_project=True,  # categories belong to one plan
        max_checklist_items=20,  # one checklist per task, 20 items
        max_name_chars=255,
        comment_author_kept=False,  # posts are written as the signed-in account
        comment_time_kept=False,
        checklists=ChecklistSupport.NATIVE,
        subtasks=False,
        sections=True,
        start_dates=True,
        due_times=True,
        custom_fields=False,
        link_attachments=True,
        completion=True,
        marker_location=MarkerLocation.DESCRIPTION_FOOTER,
        marker_kinds=frozenset({Kind.TASK, Kind.COMMENT, Kind.ATTACHMENT}),
        natural_key_kinds=frozenset({Kind.PROJECT, Kind.SECTION, Kind.LABEL}),
        rate_limit=GRAPH_RATE_LIMIT,
    )


@dataclass(frozen=True)
class PlannerSettings:
    """Where to reach Graph and Entra ID. Production uses the defaults; local runs point both
    at the simulator's origin (`base_url = {origin}/v1.0`, `login_base_url = {origin}`)."""

    base_url: str = GRAPH_BASE_URL
    login_base_url: str = LOGIN_BASE_URL
    allow_loopback: bool = False


def settings_from(connection: PlannerConnection, *, allow_loopback: bool) -> PlannerSettings:
    """Settings for a connection document. With a `base_url` override (local simulator),
    the token endpoint is on the same origin: the simulator serves `/{tenant}/oauth2/v2.0/token`
    next to `/v1.0`."""
    if not connection.base_url:
        return PlannerSettings(allow_loopback=allow_loopback)
    url = httpx.URL(connection.base_url)
    origin = f"{url.scheme}://{url.netloc.decode()}"
    return PlannerSettings(base_url=connection.base_url, login_base_url=origin,
                           allow_loopback=allow_loopback)


def credentials_from(connection: PlannerConnection) -> PlannerCredentials:
    """The credentials of a validated Planner connection document."""
    auth = connection.auth
    if isinstance(auth, PlannerClientCredentials):
        return PlannerCredentials(auth.entra_tenant_id, auth.client_id,
                                  client_secret=auth.client_secret.get_secret_value())
    return PlannerCredentials(auth.entra_tenant_id, auth.client_id, username=auth.username,
                              password=auth.password.get_secret_value())


class PlannerBase:
    """HTTP client, pacer, token cache and directory look-ups shared by reader and writer."""

    def __init__(self, credentials: PlannerCredentials, settings: PlannerSettings | None = None,
                 *, pacer: Pacer | None = None, clock: Clock | None = None,
                 http: httpx.AsyncClient | None = None, graph: GraphClient | None = None) -> None:
        self.settings = settings or PlannerSettings()
        self.credentials = credentials
        self.capabilities = planner_capabilities()
        self.clock = clock or SystemClock()
        self.pacer = pacer or Pacer(GRAPH_RATE_LIMIT, clock=self.clock, rng=random.Random())
        if graph is not None:  # share client, pacer and token cache with a sibling
            self.http, self.pacer, self._own_http, self.graph = graph.http, graph.pacer, False, graph
        else:
            self.http = http or build_client("planner",
                                             allow_loopback=self.settings.allow_loopback,
                                             base_url=self.settings.base_url)
            self._own_http = http is None
            tokens = TokenSource(self.http, self.pacer, credentials,
                                 login_base_url=self.settings.login_base_url, clock=self.clock)
            self.graph = GraphClient(self.http, self.pacer, tokens,
                                     base_url=self.settings.base_url)
        self._users: dict[str, UserRef] = {}
        self._ids_by_email: dict[str, str | None] = {}
        self._plans: dict[str, PlannerPlan] = {}

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def whoami(self) -> UserRef:
        """The signed-in user (delegated) or the application (app-only token)."""
        if not self.credentials.delegated:
            await self.graph.tokens.token()  # proves the secret works
            return UserRef(source_id=f"app:{self.credentials.client_id}",
                           display_name="Entra application")
        me = GraphUser.model_validate(await self.graph.get_json("/me"))
        return UserRef(email=me.mail or me.user_principal_name, display_name=me.display_name,
                       source_id=me.id)

    async def groups(self) -> list[GraphGroup]:
        """Microsoft 365 groups the credential can use (memberships when delegated)."""
        if self.credentials.delegated:
            raw = await self.graph.get_all("/me/memberOf")
        else:
            raw = await self.graph.get_all(
                "/groups", {"$filter": "groupTypes/any(c:c eq 'Unified')"})
        groups = [GraphGroup.model_validate(g) for g in raw]
        return [g for g in groups if g.odata_type in (None, "#microsoft.graph.group")
                and "Unified" in g.group_types]

    async def list_containers(self) -> list[Container]:
        out: list[Container] = []
        for group in await self.groups():
            out.append(Container(id=group.id, name=group.display_name or group.id,
                                 kind=ContainerKind.WORKSPACE))
            for raw in await self.graph.get_all(f"/groups/{group.id}/planner/plans"):
                plan = PlannerPlan.model_validate(raw)
                self._plans[plan.id] = plan
                out.append(Container(id=plan.id, name=plan.title, kind=ContainerKind.PLAN,
                                     parent_id=group.id))
        return out

    async def plan(self, plan_id: str, *, fresh: bool = False) -> PlannerPlan:
        if fresh or plan_id not in self._plans:
            raw = await self.graph.get_json(f"/planner/plans/{plan_id}")
            self._plans[plan_id] = PlannerPlan.model_validate(raw)
        return self._plans[plan_id]

    async def group_of(self, plan_id: str) -> str:
        group = (await self.plan(plan_id)).group_id
        if not group:
            raise SkippableItemError(f"plan {plan_id} is not in a group")
        return group

    async def users(self, user_ids: set[str]) -> dict[str, UserRef]:
        """UserRefs (with e-mail) for user ids, cached; unknown ids keep only their id."""
        missing = [uid for uid in user_ids if uid not in self._users]

        async def one(uid: str) -> None:
            try:
                raw = await self.graph.get_json(
                    f"/users/{uid}", {"$select": "id,displayName,mail,userPrincipalName"})
            except ITEM_ERRORS as exc:
                if status_of(exc) not in (403, 404):
                    raise
                self._users[uid] = UserRef(source_id=uid)
                return
            user = GraphUser.model_validate(raw)
            self._users[uid] = UserRef(email=user.mail or user.user_principal_name,
                                       display_name=user.display_name, source_id=user.id)

        await asyncio.gather(*(one(uid) for uid in missing))
        return {uid: self._users[uid] for uid in user_ids}

    async def user_id_for(self, ref: UserRef) -> str | None:
        """The tenant user id for a person, looked up by e-mail (mail or UPN)."""
        email = (ref.email or "").strip().lower()
        if not email:
            return None
        if email not in self._ids_by_email:
            quoted = email.replace("'", "''")
            found = await self.graph.get_json("/users", {
                "$filter": f"mail eq '{quoted}' or userPrincipalName eq '{quoted}'",
                "$select": "id,mail,userPrincipalName"})
            values = found.get("value", [])
            self._ids_by_email[email] = str(values[0]["id"]) if values else None
        return self._ids_by_email[email]
