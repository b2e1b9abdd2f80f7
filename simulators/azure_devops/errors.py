"""Azure DevOps error answers: ``{"$id", "innerException", "message", "typeName", "typeKey",
"errorCode", "eventId"}`` (the shape every VSS service answers; messages start with the
service's TFnnnnnn / VSnnnnnn code, which clients show, not parse)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse


class AdoError(Exception):
    """Raised by a route; answered by :func:`ado_error_handler`."""

    def __init__(
        self, status: int, message: str, type_key: str = "VssServiceException", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type_key = type_key
        self.headers = headers or {}


def error_body(message: str, type_key: str) -> dict[str, Any]:
    return {
        "$id": "1",
        "innerException": None,
        "message": message,
        "typeName": f"Microsoft.TeamFoundation.Framework.Server.{type_key}, Microsoft.TeamFoundation.Framework.Server",
        "typeKey": type_key,
        "errorCode": 0,
        "eventId": 3000,
    }


async def ado_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AdoError)
    return JSONResponse(error_body(exc.message, exc.type_key), status_code=exc.status, headers=exc.headers)


def not_found_work_item(wid: int | str) -> AdoError:
    return AdoError(
        404,
        f"TF401232: Work item {wid} does not exist, or you do not have permissions to read it.",
        "WorkItemUnauthorizedAccessException",
    )


def project_not_found(name: str) -> AdoError:
    return AdoError(
        404,
        f"TF200016: The following project does not exist: {name}. Verify "
        "that the name of the project is correct and that the project exists on "
        "the specified Azure DevOps Server.",
        "ProjectDoesNotExistWithNameException",
    )


def rule_error(field: str, detail: str) -> AdoError:
    return AdoError(400, f"TF401320: Rule Error for field {field}. Error code: {detail}.", "RuleValidationException")
