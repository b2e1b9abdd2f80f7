"""monday.com credentials: a personal API token, sent as the bare ``Authorization`` header
value (https://developer.monday.com/api-reference/docs/authentication). A token cannot be
refreshed: a refused one means the user must reconnect."""

from __future__ import annotations

from shared.connectors.kit.auth import StaticHeaders
from shared.connectors.settings import MondayConnection

#: the API version every call pins (``API-Version`` header): the SDL Ferry is checked against
API_VERSION = "2026-10"


def api_token(token: str) -> StaticHeaders:
    return StaticHeaders({"Authorization": token}, vendor="monday.com")


def credential_for(connection: MondayConnection) -> StaticHeaders:
    return api_token(connection.auth.api_token.get_secret_value())
