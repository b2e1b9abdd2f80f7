"""Jira Cloud credentials: HTTP basic with the account's e-mail and an API token
(https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/).

API tokens cannot be refreshed: a 401 means the token was revoked or mistyped and the run
pauses until the connector is given a new one (``AuthRequiredError``).
"""

from __future__ import annotations

from shared.connectors.kit.auth import StaticHeaders, basic
from shared.connectors.settings import JiraConnection


def credential_for(connection: JiraConnection) -> StaticHeaders:
    """The basic-auth credential of a Jira connection (e-mail + API token)."""
    return basic(connection.auth.email, connection.auth.api_token.get_secret_value(), vendor="Jira")
