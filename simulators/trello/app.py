"""Trello REST API simulator (``/1/...``) as a Starlette app.

``create_app()`` seeds the store, wires key+token auth and the documented rate limits
(:mod:`simulators.trello.auth`) and mounts the shared ``/_sim/*`` controls.
Deviations from the published OpenAPI, where the real API differs and we follow the real
API, are listed in ``tests/simulators/test_trello.py`` (``SPEC_FIXES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette

from simulators.common import SimClock, SimRuntime, mount_sim_controls, seeded_rng
from simulators.trello import custom_fields, routes_attachments, routes_boards, routes_cards, routes_more
from simulators.trello.auth import (
    TrelloAuthMiddleware,
    TrelloError,
    make_limiters,
    trello_error_handler,
)
from simulators.trello.ids import ObjectIdFactory
from simulators.trello.seed import SeedConfig, seed_store
from simulators.trello.store import TrelloStore


@dataclass
class TrelloSimState:
    """Mutable simulator state, kept on ``app.state.trello``."""

    store: TrelloStore
    config: SeedConfig
    clock: SimClock
    summary: dict[str, Any]


def build_store(config: SeedConfig, clock: SimClock) -> tuple[TrelloStore, dict[str, Any]]:
    """A freshly seeded store for ``config``."""
    store = TrelloStore(ObjectIdFactory(seeded_rng(f"ids:{config.seed}")), clock)
    summary = seed_store(store, config)
    return store, summary


def create_app(seed_config: SeedConfig | dict[str, Any] | None = None, *, clock: SimClock | None = None) -> Starlette:
    """The Trello simulator. ``app.state.trello`` (store, config, summary with ``key`` and
    the owner ``token``) and ``app.state.sim`` (:class:`SimRuntime`) are for tests."""
    clock = clock or SimClock()
    if isinstance(seed_config, dict):
        seed_config = SeedConfig.from_dict(seed_config)
    config = seed_config or SeedConfig()
    store, summary = build_store(config, clock)
    state = TrelloSimState(store, config, clock, summary)

    def reseed(body: dict[str, Any]) -> dict[str, Any]:
        cfg = SeedConfig.from_dict(body)
        state.store, state.summary = build_store(cfg, clock)
        state.config = cfg
        for limiter in runtime.limiters.values():
            limiter.reset()
        return state.summary

    limiters = make_limiters(clock)
    runtime = SimRuntime(clock=clock, state=lambda: state.store.dump(), reseed=reseed, limiters=dict(limiters))
    routes = [
        *routes_boards.routes,
        *routes_cards.routes,
        *routes_attachments.routes,
        *routes_more.routes,
        *custom_fields.routes,
    ]
    app = Starlette(routes=routes, exception_handlers={TrelloError: trello_error_handler})
    app.state.trello = state
    app.add_middleware(TrelloAuthMiddleware, store_ref=lambda: state.store, limiters=limiters)
    return mount_sim_controls(app, runtime)
