"""Request plumbing shared by the Asana routers: context, body parsing, answers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from simulators.asana.models import AsanaApiError, bad_request
from simulators.asana.pagination import paginate
from simulators.asana.store import AsanaStore
from simulators.asana.views import FieldTree, View, parse_opt_fields

API_PREFIX = "/api/1.0"


@dataclass
class Ctx:
    """Everything a handler needs: the store, the caller, query and the renderer."""

    request: Request
    store: AsanaStore
    me: str
    query: dict[str, str]
    opt_fields: FieldTree | None
    view: View

    @property
    def api_root(self) -> str:
        """Absolute ``…/api/1.0`` root as the client reached it."""
        return str(self.request.base_url).rstrip("/") + API_PREFIX

    def one(self, kind: str, obj: Any, status: int = 200) -> JSONResponse:
        """``{"data": <full record>}``."""
        return JSONResponse({"data": self.view.one(kind, obj, self.opt_fields)}, status_code=status)

    def page(self, kind: str, items: list[Any]) -> JSONResponse:
        """A paginated list: ``{"data": [...], "next_page": {...} | null}``."""
        api_path = self.request.url.path[len(API_PREFIX) :]
        page, next_page = paginate(
            items,
            self.query,
            api_path=api_path,
            base_url=self.api_root,
            tokens=self.store.offsets,
            unpaginated_max=self.store.unpaginated_max,
        )
        return JSONResponse({"data": self.view.many(kind, page, self.opt_fields), "next_page": next_page})

    def empty(self) -> JSONResponse:
        """``{"data": {}}`` as deletes and ``add*`` actions answer."""
        return JSONResponse({"data": {}})


def get_ctx(request: Request) -> Ctx:
    """FastAPI dependency: the caller was authenticated by the gate middleware."""
    store: AsanaStore = request.app.state.asana_store
    me = request.scope.get("state", {}).get("asana_user")
    if me is None:  # the gate always sets it; keep handlers safe if mounted without it
        raise AsanaApiError(401, "Not Authorized")
    query = dict(request.query_params)
    return Ctx(request, store, me, query, parse_opt_fields(query.get("opt_fields")), View(store, str(request.base_url)))


CtxDep = Annotated[Ctx, Depends(get_ctx)]


async def body_data(request: Request) -> dict[str, Any]:
    """The ``data`` object of a JSON body, or 400 as Asana answers."""
    return data_of(await request.body())


def data_of(raw: bytes) -> dict[str, Any]:
    """The ``data`` object of a JSON body (a request's, a batch's), or 400 as Asana answers."""
    if not raw.strip():
        raise bad_request("data: Missing input")
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise bad_request("Could not parse request data, invalid JSON") from exc
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise bad_request("data: Missing input")
    return data


def bool_param(value: str | None, name: str) -> bool | None:
    """Parse a boolean query parameter (``true``/``false``)."""
    if value is None:
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise bad_request(f"{name}: Not a boolean: {value}")
