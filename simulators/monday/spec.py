"""Checks of real exchanges against monday's official schema (SDL 2026-10), for tests.

* :func:`check_request` — the operation a client sent is valid against the schema (fields,
  arguments, variable types), exactly as graphql-core validates it.
* :func:`check_response` — an answer's ``data`` matches the operation's selection on the
  schema's types: every selected field (by alias) is present and nothing else is, non-null
  fields are not null, lists are lists, scalars have their type (``ID`` as a string, ``Int``
  within 32 bits), enum values are declared ones, and an abstract type's ``__typename``
  names one of its possible types (whose fields the inline fragments are then checked on).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLOutputType,
    GraphQLScalarType,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    is_abstract_type,
)

from simulators.monday.schema import (
    load_schema,
    parse_document,
    select_operation,
    validation_errors,
)

_INT_RANGE = (-(2**31), 2**31 - 1)


class SpecViolation(AssertionError):
    """An exchange that does not match the official schema."""


def check_request(query: str) -> None:
    """Raise :class:`SpecViolation` unless ``query`` is valid against the schema."""
    problems = validation_errors(parse_document(query))
    if problems:
        raise SpecViolation("; ".join(p.message for p in problems))


def check_response(query: str, body: dict[str, Any], operation_name: str | None = None) -> None:
    """Raise :class:`SpecViolation` if ``body["data"]`` does not fit ``query``'s selection."""
    document = parse_document(query)
    op = select_operation(document, operation_name)
    if op is None:
        raise SpecViolation("no operation to check")
    data = body.get("data")
    if data is None:
        if not body.get("errors"):
            raise SpecViolation("neither data nor errors in the answer")
        return
    schema = load_schema()
    root = schema.mutation_type if op.operation is OperationType.MUTATION else schema.query_type
    assert root is not None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    # a field whose resolver failed is null with an error, even if non-null (partial data)
    errored = {tuple(e.get("path") or ()) for e in body.get("errors", [])}
    _Checker(fragments, errored).object(op.selection_set, root, data, ())


class _Checker:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode], errored: set[tuple[Any, ...]]) -> None:
        self.fragments = fragments
        self.errored = errored
        self._groups = 0

    def _fields(
        self, selection: SelectionSetNode, parent: Any, typename: str | None, group: int = 0
    ) -> list[tuple[FieldNode, Any, int]]:
        """(field node, its parent type, group) for every field that may apply to the value.

        Group 0 fields must be present; fields of a fragment on a concrete type whose
        object has no ``__typename`` form a group of their own: all present or all absent
        (without the name nothing else tells which type the object is)."""
        schema = load_schema()
        out: list[tuple[FieldNode, Any, int]] = []
        for node in selection.selections:
            if isinstance(node, FieldNode):
                out.append((node, parent, group))
                continue
            if isinstance(node, FragmentSpreadNode):
                frag = self.fragments[node.name.value]
                cond_name, sub = frag.type_condition.name.value, frag.selection_set
            else:
                assert isinstance(node, InlineFragmentNode)
                cond_name = node.type_condition.name.value if node.type_condition else parent.name
                sub = node.selection_set
            cond = schema.get_type(cond_name)
            if cond_name == parent.name:
                out.extend(self._fields(sub, parent, typename, group))
            elif typename is None:
                self._groups += 1
                out.extend(self._fields(sub, cond, None, self._groups))
            elif cond_name == typename or (
                is_abstract_type(cond) and schema.is_sub_type(cond, schema.get_type(typename))
            ):  # type: ignore[arg-type]
                concrete = schema.get_type(typename) if is_abstract_type(cond) else cond
                out.extend(self._fields(sub, concrete, typename, group))
        return out

    def object(self, selection: SelectionSetNode, gtype: Any, value: Any, path: tuple[Any, ...]) -> None:
        where = ".".join(map(str, path)) or "data"
        if not isinstance(value, dict):
            raise SpecViolation(f"{where}: expected an object")
        typename = value.get("__typename")
        schema = load_schema()
        if typename is not None:
            concrete = schema.get_type(typename)
            if (
                concrete is None
                or (is_abstract_type(gtype) and not schema.is_sub_type(gtype, concrete))
                or (not is_abstract_type(gtype) and concrete is not gtype)
            ):  # type: ignore[arg-type]
                raise SpecViolation(f"{where}: {typename} is not a possible type of {gtype.name}")
        fields = self._fields(selection, gtype, typename)
        present: dict[int, set[bool]] = {}
        for node, _, group in fields:
            key = node.alias.value if node.alias else node.name.value
            present.setdefault(group, set()).add(key in value)
        if False in present.get(0, set()):
            missing = [
                n.name.value
                for n, _, g in fields
                if g == 0 and (n.alias.value if n.alias else n.name.value) not in value
            ]
            raise SpecViolation(f"{where}: missing {missing}")
        if any(len(flags) > 1 for g, flags in present.items() if g):
            raise SpecViolation(f"{where}: a fragment answered in part")
        keys = set()
        for node, parent, _ in fields:
            key = node.alias.value if node.alias else node.name.value
            if key not in value:
                continue
            keys.add(key)
            if node.name.value == "__typename":
                if not isinstance(value[key], str):
                    raise SpecViolation(f"{where}.{key}: not a type name")
                continue
            field_def = parent.fields.get(node.name.value)
            if field_def is None:
                raise SpecViolation(f"{parent.name}.{node.name.value} is not in the schema")
            self.value(field_def.type, node.selection_set, value[key], path + (key,))
        extra = set(value) - keys
        if extra:
            raise SpecViolation(f"{where}: unselected keys {sorted(extra)}")

    def value(
        self, gtype: GraphQLOutputType, selection: SelectionSetNode | None, value: Any, path: tuple[Any, ...]
    ) -> None:
        where = ".".join(map(str, path))
        if isinstance(gtype, GraphQLNonNull):
            if value is None:
                if path in self.errored:
                    return
                raise SpecViolation(f"{where}: null in a non-null field")
            gtype = gtype.of_type
        if value is None:
            return
        if isinstance(gtype, GraphQLList):
            if not isinstance(value, list):
                raise SpecViolation(f"{where}: expected a list")
            for i, element in enumerate(value):
                self.value(gtype.of_type, selection, element, path + (i,))
            return
        if isinstance(gtype, GraphQLEnumType):
            if value not in gtype.values:
                raise SpecViolation(f"{where}: {value!r} is not a {gtype.name} value")
            return
        if isinstance(gtype, GraphQLScalarType):
            _scalar(gtype.name, value, where)
            return
        assert selection is not None
        self.object(selection, gtype, value, path)


def _scalar(name: str, value: Any, where: str) -> None:
    ok = {
        "Int": lambda v: isinstance(v, int) and not isinstance(v, bool) and _INT_RANGE[0] <= v <= _INT_RANGE[1],
        "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "String": lambda v: isinstance(v, str),
        "Boolean": lambda v: isinstance(v, bool),
        "ID": lambda v: isinstance(v, str),
        "Date": lambda v: isinstance(v, str),
        "ISO8601DateTime": lambda v: isinstance(v, str),
    }.get(name, lambda v: True)  # JSON, File, CompareValue …: any JSON value
    if not ok(value):
        raise SpecViolation(f"{where}: {value!r} is not a valid {name}")
