"""The official monday.com GraphQL schema (SDL, API version 2026-10), parsed once.

The simulator executes every operation against this schema (graphql-core), so a query or
mutation that the real API would refuse as invalid — an unknown field, a wrong argument
type, a missing required argument — is refused here with the same GraphQL validation error.
The file is ``vendor-api/monday/schema-2026-10.graphql``, a byte-identical copy of the SDL
monday's own tooling downloads (source in ``vendor-api/README.md``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    parse,
    validate,
)

API_VERSION = "2026-10"
SPEC_ENV = "FERRY_VENDOR_API_DIR"


def sdl_path() -> Path:
    """``schema-2026-10.graphql`` under ``$FERRY_VENDOR_API_DIR`` or the repository's copy."""
    root = os.environ.get(SPEC_ENV)
    base = Path(root) if root else Path(__file__).resolve().parents[2] / "vendor-api"
    return base / "monday" / f"schema-{API_VERSION}.graphql"


@functools.lru_cache(maxsize=1)
def load_schema() -> GraphQLSchema:
    """The parsed SDL (about 0.3 s; cached for the process)."""
    return build_schema(sdl_path().read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=512)
def parse_document(query: str) -> DocumentNode:
    """Parsed (and cached) query text; raises ``GraphQLError`` on a syntax error."""
    return parse(query)


def validation_errors(document: DocumentNode) -> list[GraphQLError]:
    """The schema's validation errors for ``document`` (empty: valid)."""
    return list(validate(load_schema(), document))


def select_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        return next((o for o in ops if o.name and o.name.value == name), None)
    return ops[0] if len(ops) == 1 else None


def root_field_names(op: OperationDefinitionNode) -> list[str]:
    """Names (not aliases) of the operation's root fields, in order, without repeats."""
    names: list[str] = []
    for sel in op.selection_set.selections:
        if isinstance(sel, FieldNode) and sel.name.value not in names:
            names.append(sel.name.value)
    return names
