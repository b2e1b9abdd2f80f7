"""The assistant's triggers (issue 17): `worker.bp` (the indexing queue) and `api.router`
(`POST /api/orgs/{orgId}/assistant/ask`, mounted in the one HTTP API)."""
