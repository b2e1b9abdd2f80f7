"""Directory routes the connector needs: /me, /users (email <-> id), /groups, memberships."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse

from simulators.planner.auth import graph_principal, require_user
from simulators.planner.errors import directory_not_found
from simulators.planner.odata import collection, compile_filter, select
from simulators.planner.state import SimState, sim_state
from simulators.planner.store import GRAPH_ROOT, Group, Principal, User

router = APIRouter(prefix="/v1.0")
Caller = Depends(graph_principal)

USER_FIELDS: dict[str, Any] = {
    "id": lambda u: u.id,
    "mail": lambda u: u.mail,
    "userPrincipalName": lambda u: u.user_principal_name,
    "displayName": lambda u: u.display_name,
    "givenName": lambda u: u.given_name,
    "surname": lambda u: u.surname,
    "otherMails": lambda u: [u.mail],
    "proxyAddresses": lambda u: [f"SMTP:{u.mail}"],
}
GROUP_FIELDS: dict[str, Any] = {
    "id": lambda g: g.id,
    "displayName": lambda g: g.display_name,
    "mailNickname": lambda g: g.mail_nickname,
    "mail": lambda g: g.mail,
    "groupTypes": lambda g: ["Unified"],
}


def _user(state: SimState, key: str) -> User:
    user = state.store.user_by_key(key)
    if user is None:
        raise directory_not_found(key)
    return user


def _group(state: SimState, group_id: str) -> Group:
    group = state.store.groups.get(group_id)
    if group is None:
        raise directory_not_found(group_id)
    return group


def _one(request: Request, body: dict[str, Any], context: str) -> JSONResponse:
    item = select([body], request)[0]
    return JSONResponse({"@odata.context": f"{GRAPH_ROOT}/$metadata#{context}", **item})


@router.get("/me")
async def me(request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    return _one(request, _user(state, require_user(who)).to_graph(), "users/$entity")


@router.get("/users")
async def list_users(request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    match = compile_filter(request.query_params.get("$filter"), USER_FIELDS)
    users = [u.to_graph() for u in state.store.users.values() if match(u)]
    return JSONResponse(collection(request, state, users, "users"))


@router.get("/users/{user_key}")
async def get_user(user_key: str, request: Request, who: Principal = Caller) -> JSONResponse:
    return _one(request, _user(sim_state(request), user_key).to_graph(), "users/$entity")


def _member_of(request: Request, state: SimState, user_id: str) -> JSONResponse:
    groups = [g.to_graph() for g in state.store.groups.values() if user_id in g.members]
    return JSONResponse(collection(request, state, groups, "directoryObjects"))


@router.get("/me/memberOf")
async def my_groups(request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    return _member_of(request, state, require_user(who))


@router.get("/users/{user_key}/memberOf")
async def user_groups(user_key: str, request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    return _member_of(request, state, _user(state, user_key).id)


@router.get("/groups")
async def list_groups(request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    match = compile_filter(request.query_params.get("$filter"), GROUP_FIELDS)
    groups = [g.to_graph() for g in state.store.groups.values() if match(g)]
    return JSONResponse(collection(request, state, groups, "groups"))


@router.get("/groups/{group_id}")
async def get_group(group_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    return _one(request, _group(sim_state(request), group_id).to_graph(), "groups/$entity")


@router.get("/groups/{group_id}/members")
async def group_members(group_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    group = _group(state, group_id)
    members = [
        {"@odata.type": "#microsoft.graph.user", **state.store.users[uid].to_graph()}
        for uid in group.members
        if uid in state.store.users
    ]
    return JSONResponse(collection(request, state, members, "directoryObjects"))
