"""The per-app simulator state handed to routes (store, clock, limits, runtime controls)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from starlette.requests import Request

from simulators.common import SimClock, SimRuntime
from simulators.planner.rules import PlannerLimits
from simulators.planner.store import PlannerStore


@dataclass
class SimState:
    """What every route needs. Kept on `app.state.planner`."""

    store: PlannerStore
    clock: SimClock
    runtime: SimRuntime
    limits: PlannerLimits = field(default_factory=PlannerLimits)
    #: default and maximum page sizes for collections (`$top` is capped at max_page_size)
    page_size: int = 100
    max_page_size: int = 999
    #: simple upload (PUT .../content) limit; larger files need an upload session
    simple_upload_max: int = 4 * 1024 * 1024

    def now(self) -> datetime:
        """Wall-clock time from the (injectable) simulator clock."""
        return datetime.fromtimestamp(self.clock.time(), UTC)


def sim_state(request: Request) -> SimState:
    """The SimState of the app serving `request`."""
    state: SimState = request.app.state.planner
    return state
