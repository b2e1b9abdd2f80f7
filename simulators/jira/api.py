"""Request plumbing shared by the Jira routers: the caller, the API root, JSON bodies,
paging parameters, and the Atlassian Document Format check Jira applies to rich text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from simulators.jira.store import JiraError, JiraStore, User

API = "/rest/api/3"

#: ADF node and mark types (https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/)
ADF_NODES = frozenset(
    {
        "doc",
        "paragraph",
        "text",
        "heading",
        "bulletList",
        "orderedList",
        "listItem",
        "codeBlock",
        "hardBreak",
        "mention",
        "blockquote",
        "rule",
        "inlineCard",
        "emoji",
        "panel",
        "table",
        "tableRow",
        "tableHeader",
        "tableCell",
        "mediaSingle",
        "mediaGroup",
        "media",
        "date",
        "status",
        "expand",
        "nestedExpand",
        "taskList",
        "taskItem",
        "decisionList",
        "decisionItem",
        "blockCard",
        "embedCard",
        "mediaInline",
    }
)
ADF_MARKS = frozenset(
    {
        "strong",
        "em",
        "code",
        "link",
        "strike",
        "underline",
        "textColor",
        "subsup",
        "backgroundColor",
        "alignment",
        "indentation",
        "border",
    }
)
NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"


@dataclass
class Ctx:
    request: Request
    store: JiraStore
    account: str

    @property
    def base(self) -> str:
        """The API root as the client reached it (site or 3LO gateway)."""
        root = str(self.request.scope.get("state", {}).get("jira_root", ""))
        return str(self.request.base_url).rstrip("/") + root

    @property
    def me(self) -> User:
        return self.store.users[self.account]


def get_ctx(request: Request) -> Ctx:
    account = request.scope.get("state", {}).get("jira_account")
    if account is None:  # the gate always sets it
        raise JiraError(401, "Client must be authenticated to access this resource.")
    return Ctx(request, request.app.state.jira_store, account)


CtxDep = Annotated[Ctx, Depends(get_ctx)]


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        raise JiraError(400, "Unexpected character in the JSON body.") from exc
    if not isinstance(body, dict):
        raise JiraError(400, "The request body must be a JSON object.")
    return body


def int_param(request: Request, name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise JiraError(400, f"The '{name}' parameter must be a number.") from exc
    value = max(low, value)
    return min(high, value) if high is not None else value


def check_adf(doc: Any, field: str) -> dict[str, Any]:
    """``doc`` if it is an ADF document, else Jira's 400 naming ``field``."""

    def bad() -> JiraError:
        return JiraError(400, errors={field: NOT_ADF})

    def node(n: Any, top: bool = False) -> None:
        if not isinstance(n, dict) or n.get("type") not in ADF_NODES:
            raise bad()
        if (n["type"] == "doc") != top:
            raise bad()
        if n["type"] == "text":
            if not isinstance(n.get("text"), str) or not n["text"]:
                raise bad()  # ADF: a text node holds at least one character
            for mark in n.get("marks") or []:
                if not isinstance(mark, dict) or mark.get("type") not in ADF_MARKS:
                    raise bad()
                if mark["type"] == "link" and not isinstance((mark.get("attrs") or {}).get("href"), str):
                    raise bad()
        if n["type"] == "heading" and (n.get("attrs") or {}).get("level") not in range(1, 7):
            raise bad()
        if n["type"] == "mention" and not isinstance((n.get("attrs") or {}).get("id"), str):
            raise bad()
        content = n.get("content", [])
        if not isinstance(content, list):
            raise bad()
        for child in content:
            node(child)

    if not isinstance(doc, dict) or doc.get("version") != 1:
        raise bad()
    node(doc, top=True)
    return doc
