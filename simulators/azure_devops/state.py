"""What every route reaches through ``request.app.state.ado``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request

from simulators.azure_devops.store import Store
from simulators.common import SimClock, SimRuntime


@dataclass
class SimState:
    store: Store
    clock: SimClock
    runtime: SimRuntime
    #: comments per page when the client sends no ``$top`` (the service's default is 200)
    comment_page: int = 200
    #: projects per page when the client sends no ``$top`` (the service's default is 100)
    project_page: int = 100

    def now(self) -> str:
        """The service's timestamp format: UTC, milliseconds, ``Z``."""
        moment = datetime.fromtimestamp(self.clock.time(), UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sim_state(request: Request) -> SimState:
    state: SimState = request.app.state.ado
    return state


def origin(request: Request) -> str:
    """Scheme and host the client called (response URLs point back at it)."""
    return f"{request.url.scheme}://{request.url.netloc}"
