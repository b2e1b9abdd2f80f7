"""The people a Jira credential can see, for mapping users before a run.

A project's people are those who may be assigned its issues,
``GET /rest/api/3/user/assignable/search?project=…`` (a plain list, paged by ``startAt`` /
``maxResults``; https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-user-search/).
The site (the console's workspace) and no scope give the assignable people of every project
the account can browse. E-mails show as each person's profile visibility allows.
Nothing here is cached beyond the call or logged.
"""

from __future__ import annotations

from shared.connectors.jira.client import PAGE_BEANS, JiraClient
from shared.connectors.jira.mapping import user_ref
from shared.connectors.kit.paging import OffsetPaging
from shared.contract.model import UserRef

#: the user searches answer a bare list; a page shorter than asked is the last
PAGE_USERS = OffsetPaging(records_at=(), offset_param="startAt", size_param="maxResults", max_size=100)


async def assignable(client: JiraClient, project: str) -> list[UserRef]:
    raw = await client.all(PAGE_USERS, "/user/assignable/search", size=100, project=project)
    return [ref for ref in (user_ref(u) for u in raw) if ref is not None]


async def list_people(client: JiraClient, site: str, scope: str | None) -> list[UserRef]:
    """Assignable people of project ``scope``, or of every project (site or no scope)."""
    if scope is not None and scope != site:
        return await assignable(client, scope)
    found: dict[str, UserRef] = {}
    for project in await client.all(PAGE_BEANS, "/project/search", size=50):
        for person in await assignable(client, str(project["id"])):
            found.setdefault(person.source_id or "", person)
    return list(found.values())
