"""Group threads in the Planner simulator: a thread can be deleted
(https://learn.microsoft.com/graph/api/conversationthread-delete), its posts with it."""

from __future__ import annotations

from typing import Any

from simulators.common import FakeClock
from simulators.planner import SeedConfig, create_app
from tests.simulators.test_planner import _client, bearer, first_plan, user_token


async def test_a_deleted_thread_is_gone_with_its_posts() -> None:
    app: Any = create_app(SeedConfig(tasks_per_plan=2, deleted_tasks_per_plan=0), clock=FakeClock())
    async with _client(app) as client:
        token = await user_token(client, app)
        group, _ = await first_plan(client, token)
        made = await client.post(
            f"/v1.0/groups/{group}/threads",
            headers=bearer(token),
            json={"topic": "Temporary", "posts": [{"body": {"contentType": "text", "content": "hi"}}]},
        )
        thread = made.json()["id"]
        gone = await client.delete(f"/v1.0/groups/{group}/threads/{thread}", headers=bearer(token))
        assert gone.status_code == 204
        posts = await client.get(f"/v1.0/groups/{group}/threads/{thread}/posts", headers=bearer(token))
        assert posts.status_code == 404
        again = await client.delete(f"/v1.0/groups/{group}/threads/{thread}", headers=bearer(token))
        assert again.status_code == 404
