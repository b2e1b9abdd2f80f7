"""monday.com error answers (https://developer.monday.com/api-reference/docs/error-handling).

From API version 2025-01 on, every error is an entry of a GraphQL ``errors`` array with
``extensions.code``; application-level errors answer HTTP 200 (with partial ``data``),
transport-level ones (auth, rate limits) their own status plus ``Retry-After`` where a wait
applies. Since 2025-07 the complexity-budget error carries only ``code`` and
``retry_in_seconds`` (changelog "Breaking change: Updated complexity budget exhausted
error"). Every body also names the ``account_id``.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from simulators.monday.store import ACCOUNT_ID


class MondayError(GraphQLError):
    """An application-level error raised inside a resolver (answered with HTTP 200)."""

    def __init__(
        self, message: str, code: str, *, status_code: int = 200, error_data: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, extensions={"code": code, "error_data": error_data or {}, "status_code": status_code})


def not_found(kind: str, ident: str) -> MondayError:
    return MondayError(
        f"{kind.capitalize()} not found",
        "ResourceNotFoundException",
        status_code=404,
        error_data={"resource_type": kind, "resource_id": ident},
    )


def invalid_board(board_id: str) -> MondayError:
    return MondayError(
        "The board does not exist. Please check your board ID and try again",
        "InvalidBoardIdException",
        status_code=200,
        error_data={"board_id": board_id},
    )


def invalid_column(column_id: str) -> MondayError:
    return MondayError(
        "This column ID doesn't exist for the board", "InvalidColumnIdException", error_data={"column_id": column_id}
    )


def column_value_error(message: str, column_id: str) -> MondayError:
    return MondayError(message, "ColumnValueException", error_data={"column_id": column_id})


def invalid_argument(message: str) -> MondayError:
    return MondayError(message, "InvalidArgumentException", status_code=400)


def transport_error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    """The body of an error that stops the whole request (auth, limits, bad request)."""
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}], "account_id": ACCOUNT_ID}
