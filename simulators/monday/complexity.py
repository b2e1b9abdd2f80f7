"""Query complexity and the per-minute complexity budget
(https://developer.monday.com/api-reference/docs/rate-limits).

Documented: a single query may cost at most 5,000,000 points; a personal API token has a
combined budget of 10,000,000 points per minute (1,000,000 on trial and free accounts);
the per-minute budget "resets 60 seconds after the first call"; the ``complexity`` field
answers ``before``/``query``/``after``/``reset_in_x_seconds``; an exhausted budget answers
``COMPLEXITY_BUDGET_EXHAUSTED`` with ``retry_in_seconds`` (429 + ``Retry-After``).

The simulator does not reproduce monday's per-field costs; its formula is a model with the
property the documentation stresses — cost grows with what a query may return: every selected field
costs 1 per parent object it may be resolved for, a field taking ``limit`` (or ``ids``)
multiplies what is nested under it by that number (``boards`` 25, ``users`` 200 by default),
and each root mutation adds 10.
"""

from __future__ import annotations

import math
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import get_argument_values, get_variable_values

from simulators.common import SimClock, WindowLimiter

MAX_QUERY_COMPLEXITY = 5_000_000
PERSONAL_TOKEN_BUDGET = 10_000_000
FREE_ACCOUNT_BUDGET = 1_000_000
MUTATION_BASE = 10
DEFAULT_LIST_SIZE = {"boards": 25, "items": 25, "updates": 25, "workspaces": 25, "users": 200}


def query_complexity(
    schema: GraphQLSchema,
    op: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
) -> int:
    """The simulator's cost of one operation (see the module docstring)."""
    root = schema.mutation_type if op.operation is OperationType.MUTATION else schema.query_type
    assert root is not None
    base = MUTATION_BASE * len(op.selection_set.selections) if op.operation is OperationType.MUTATION else 0
    coerced = get_variable_values(schema, op.variable_definitions or (), variables)
    if isinstance(coerced, list):  # wrong variable values: executing reports them
        raise coerced[0]
    return base + _cost(schema, op.selection_set, root, 1, fragments, coerced)


def _cost(
    schema: GraphQLSchema,
    selection: SelectionSetNode | None,
    parent: GraphQLNamedType,
    mult: int,
    fragments: dict[str, FragmentDefinitionNode],
    variables: Any,
) -> int:
    if selection is None:
        return 0
    total = 0
    for node in selection.selections:
        if isinstance(node, FragmentSpreadNode):
            frag = fragments[node.name.value]
            total += _cost(
                schema,
                frag.selection_set,
                schema.get_type(frag.type_condition.name.value) or parent,
                mult,
                fragments,
                variables,
            )
            continue
        if isinstance(node, InlineFragmentNode):
            cond = schema.get_type(node.type_condition.name.value) if node.type_condition else None
            total += _cost(schema, node.selection_set, cond or parent, mult, fragments, variables)
            continue
        assert isinstance(node, FieldNode)
        name = node.name.value
        if name.startswith("__") or name == "complexity":
            continue
        fields = getattr(parent, "fields", {})
        field_def = fields.get(name)
        if field_def is None:
            continue
        args = get_argument_values(field_def, node, variables)
        size = 1
        if isinstance(args.get("limit"), int):
            size = max(1, args["limit"])
        elif isinstance(args.get("ids"), list):
            size = max(1, len(args["ids"]))
        elif isinstance(parent, GraphQLObjectType) and parent is schema.query_type:
            size = DEFAULT_LIST_SIZE.get(name, 1)
        total += mult + _cost(
            schema, node.selection_set, get_named_type(field_def.type), mult * size, fragments, variables
        )
    return total


class ComplexityBudget(WindowLimiter):
    """Points per token per minute; the window opens with the first call and resets 60 s
    later (monday: "resets 60 seconds after the first call"). ``limit`` is the budget."""

    def __init__(self, budget: int, clock: SimClock, window_s: float = 60.0) -> None:
        super().__init__(budget, window_s, clock)
        self._windows: dict[str, tuple[float, int]] = {}

    def _window(self, key: str, now: float) -> tuple[float, int]:
        start, used = self._windows.get(key, (now, 0))
        if now >= start + self.window_s:
            start, used = now, 0
        return start, used

    def charge(self, key: str, cost: int) -> tuple[bool, int, int, int]:
        """Take ``cost`` points: (allowed, before, after, seconds until the window resets).

        A refused query takes nothing (the budget answers what is left)."""
        with self._lock:
            now = self.clock.monotonic()
            start, used = self._window(key, now)
            reset_in = max(1, math.ceil(start + self.window_s - now))
            before = max(0, self.limit - used)
            if self.enabled and cost > before:
                self._windows[key] = (start, used)
                return False, before, before, reset_in
            self._windows[key] = (start, used + cost)
            return True, before, max(0, before - cost), reset_in

    def hit(self, key: str) -> float | None:
        ok, _, _, reset_in = self.charge(key, 1)
        return None if ok else float(reset_in)

    def remaining(self, key: str) -> int:
        with self._lock:
            _, used = self._window(key, self.clock.monotonic())
            return max(0, self.limit - used)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def describe(self) -> dict[str, Any]:
        return {
            "type": "complexity_budget",
            "limit": self.limit,
            "window_s": self.window_s,
            "enabled": self.enabled,
            "max_query": MAX_QUERY_COMPLEXITY,
        }
