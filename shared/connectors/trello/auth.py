"""Trello credentials: an API key and a user token, sent in the ``Authorization`` header as
``OAuth oauth_consumer_key="…", oauth_token="…"``
(https://developer.atlassian.com/cloud/trello/guides/rest-api/authorization/). This keeps both
out of URLs and access logs, and the ``/download/`` attachment routes accept nothing else
since 2021 (https://community.developer.atlassian.com/t/update-authenticated-access-to-s3/43681).
A token cannot be refreshed: a refused one means the user must reconnect."""

from __future__ import annotations

from shared.connectors.kit.auth import StaticHeaders
from shared.connectors.settings import TrelloConnection


def key_and_token(api_key: str, token: str) -> StaticHeaders:
    return StaticHeaders(
        {"Authorization": f'OAuth oauth_consumer_key="{api_key}", oauth_token="{token}"'}, vendor="Trello"
    )


def credential_for(connection: TrelloConnection) -> StaticHeaders:
    return key_and_token(connection.auth.api_key.get_secret_value(), connection.auth.token.get_secret_value())
