"""A subset of WIQL (Work Item Query Language) for flat ``FROM WorkItems`` queries.

Supported: ``SELECT [f], … FROM WorkItems [WHERE c AND c …] [ORDER BY [f] [ASC|DESC], …]``
with conditions ``[field] <op> <value>``; ops ``= <> > >= < <= UNDER CONTAINS IN``;
values ``'text'`` (``''`` escapes a quote), numbers, ``@project``, ``@me``. ``OR``,
parentheses and link queries (``FROM WorkItemLinks``) are refused with a 400 naming what
the simulator lacks (the service supports them; Ferry does not use them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from simulators.azure_devops.errors import AdoError
from simulators.azure_devops.fields import FIELDS

_TOKEN = re.compile(
    r"\s*(?:(\[[^\]]+\])|('(?:[^']|'')*')|(@\w+)|(-?\d+(?:\.\d+)?)|"
    r"(<>|>=|<=|=|<|>)|(,|\(|\))|([A-Za-z_]+))"
)


@dataclass
class Condition:
    field: str
    op: str
    value: Any


@dataclass
class Query:
    fields: list[str]
    conditions: list[Condition]
    order: list[tuple[str, bool]]  # (field, descending)


def _bad(message: str) -> AdoError:
    return AdoError(400, f"VS402330: {message}", "WiqlSyntaxException")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        found = _TOKEN.match(text, pos)
        if found is None or found.end() == pos:
            raise _bad(f"Unexpected text at position {pos}: {text[pos : pos + 20]!r}.")
        kinds = ("field", "string", "macro", "number", "op", "punct", "word")
        for kind, value in zip(kinds, found.groups(), strict=True):
            if value is not None:
                out.append((kind, value))
                break
        pos = found.end()
    return out


def _field(token: tuple[str, str]) -> str:
    if token[0] != "field":
        raise _bad(f"Expected a field in brackets, found {token[1]!r}.")
    name = token[1][1:-1].strip()
    known = FIELDS.get(name.lower())
    if known is None:
        raise AdoError(
            400,
            f"TF51005: The query references a field that does not exist. The error is caused by «[{name}]».",
            "WiqlFieldException",
        )
    return known.reference


def parse(text: str) -> Query:
    toks = _tokens(text)
    i = 0

    def word(expected: str) -> None:
        nonlocal i
        if i >= len(toks) or toks[i][1].upper() != expected:
            raise _bad(f"Expected {expected}.")
        i += 1

    word("SELECT")
    fields = [_field(toks[i])]
    i += 1
    while i < len(toks) and toks[i][1] == ",":
        fields.append(_field(toks[i + 1]))
        i += 2
    word("FROM")
    if i >= len(toks) or toks[i][1].lower() != "workitems":
        raise _bad("Only FROM WorkItems (flat queries) is supported by the simulator.")
    i += 1
    conditions: list[Condition] = []
    if i < len(toks) and toks[i][1].upper() == "WHERE":
        i += 1
        while True:
            if toks[i][1] == "(":
                raise _bad("Parentheses are not supported by the simulator.")
            name = _field(toks[i])
            i += 1
            op = toks[i][1].upper()
            i += 1
            if op == "IN":
                if toks[i][1] != "(":
                    raise _bad("IN needs a list in parentheses.")
                i += 1
                values = []
                while toks[i][1] != ")":
                    if toks[i][1] != ",":
                        values.append(_value(toks[i]))
                    i += 1
                i += 1
                conditions.append(Condition(name, "IN", values))
            elif op in ("=", "<>", ">", ">=", "<", "<=", "UNDER", "CONTAINS"):
                conditions.append(Condition(name, op, _value(toks[i])))
                i += 1
            else:
                raise _bad(f"Operator {op!r} is not supported by the simulator.")
            if i < len(toks) and toks[i][1].upper() == "AND":
                i += 1
                continue
            if i < len(toks) and toks[i][1].upper() == "OR":
                raise _bad("OR is not supported by the simulator.")
            break
    order: list[tuple[str, bool]] = []
    if i < len(toks) and toks[i][1].upper() == "ORDER":
        i += 1
        word("BY")
        while True:
            name = _field(toks[i])
            i += 1
            desc = False
            if i < len(toks) and toks[i][1].upper() in ("ASC", "DESC"):
                desc = toks[i][1].upper() == "DESC"
                i += 1
            order.append((name, desc))
            if i < len(toks) and toks[i][1] == ",":
                i += 1
                continue
            break
    if i != len(toks):
        raise _bad(f"Unexpected {toks[i][1]!r}.")
    return Query(fields, conditions, order)


def _value(token: tuple[str, str]) -> Any:
    kind, value = token
    if kind == "string":
        return value[1:-1].replace("''", "'")
    if kind == "number":
        return float(value) if "." in value else int(value)
    if kind == "macro":
        return value.lower()
    raise _bad(f"Expected a value, found {value!r}.")


def _compare(have: Any, op: str, want: Any) -> bool:
    if op == "IN":
        return any(_compare(have, "=", w) for w in want)
    if have is None:
        return op == "<>" and want not in (None, "")
    if isinstance(have, str) and isinstance(want, str):
        a, b = have.lower(), want.lower()
    else:
        a, b = have, want
    try:
        if op == "=":
            return bool(a == b)
        if op == "<>":
            return bool(a != b)
        if op == ">":
            return bool(a > b)
        if op == ">=":
            return bool(a >= b)
        if op == "<":
            return bool(a < b)
        if op == "<=":
            return bool(a <= b)
    except TypeError:
        return False
    if op == "UNDER":
        return isinstance(a, str) and (a == b or a.startswith(f"{b}\\"))
    if op == "CONTAINS":
        return isinstance(a, str) and isinstance(b, str) and b in a
    return False


def matches(query: Query, values: dict[str, Any], macros: dict[str, Any]) -> bool:
    for cond in query.conditions:
        want = cond.value
        if isinstance(want, str) and want.startswith("@"):
            if want not in macros:
                raise _bad(f"The macro {want} is not supported by the simulator.")
            want = macros[want]
        if isinstance(want, list):
            want = [macros.get(w, w) if isinstance(w, str) else w for w in want]
        if not _compare(values.get(cond.field), cond.op, want):
            return False
    return True
