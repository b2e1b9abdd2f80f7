"""The subset of JQL the simulator understands (Ferry's reader and writer use it).

``clause [AND clause]… [ORDER BY field [ASC|DESC]]`` where a clause is
``field = value``, ``field != value``, ``field in (v1, v2, …)`` or, for ``key``,
``key > value`` / ``key >= value`` / ``key < value`` (issue keys compare by project key,
then number, as JQL compares them) over ``project``,
``parent``, ``issuetype`` (``type``), ``key`` (``issuekey``, ``id``), ``status``,
``labels`` and ``assignee``; values are bare words or quoted strings. Anything else is a
400, as Jira answers a query it cannot parse. ``/rest/api/3/search/jql`` refuses an
unbounded query (no restriction at all), as the real endpoint does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from simulators.jira.store import Issue, JiraError, JiraStore

_TOKEN = re.compile(
    r'\s*(?:(?P<q>"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')|(?P<op>!=|>=|<=|=|>|<|\(|\)|,)'
    r'|(?P<w>[^\s=!<>(),"\']+))'
)
FIELDS = {
    "project": "project",
    "parent": "parent",
    "issuetype": "issuetype",
    "type": "issuetype",
    "key": "key",
    "issuekey": "key",
    "id": "key",
    "status": "status",
    "labels": "labels",
    "assignee": "assignee",
}
ORDER_FIELDS = {"key", "id", "created", "rank"}
UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."


@dataclass(frozen=True)
class Query:
    clauses: tuple[tuple[str, str, tuple[str, ...]], ...]  # (field, operator, values)
    descending: bool = False
    by_key: bool = False  # ORDER BY key (else by id, i.e. creation)


def _tokens(jql: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(jql):
        if jql[pos:].strip() == "":
            break
        m = _TOKEN.match(jql, pos)
        if not m or m.end() == pos:
            raise _bad(
                f"Error in the JQL Query: the character '{jql[pos]}' is a reserved JQL character (at position {pos})."
            )
        token = m.group("q")
        out.append(token if token is not None else (m.group("op") or m.group("w")))
        pos = m.end()
    return out


def _bad(message: str) -> JiraError:
    return JiraError(400, message)


def _value(tok: str) -> str:
    if tok[:1] in "\"'":
        return re.sub(r"\\(.)", r"\1", tok[1:-1])
    return tok


def parse(jql: str) -> Query:
    """Parse ``jql`` or raise a 400 ``JiraError``."""
    toks = _tokens(jql)
    clauses: list[tuple[str, str, tuple[str, ...]]] = []
    descending = by_key = False
    i = 0
    while i < len(toks):
        word = toks[i].lower()
        if word == "order":
            if i + 2 >= len(toks) or toks[i + 1].lower() != "by":
                raise _bad("Error in the JQL Query: Expecting 'by' and a field name after 'order'.")
            if toks[i + 2].lower() not in ORDER_FIELDS:
                raise _bad(f"Not able to sort using field '{toks[i + 2]}'.")
            rest = [t.lower() for t in toks[i + 3 :]]
            if rest not in ([], ["asc"], ["desc"]):
                raise _bad("Error in the JQL Query: Expecting either 'ASC' or 'DESC'.")
            descending = rest == ["desc"]
            by_key = toks[i + 2].lower() == "key"
            break
        if clauses:
            if word != "and":
                raise _bad(f"Error in the JQL Query: Expecting either 'AND' or 'ORDER BY' but got '{toks[i]}'.")
            i += 1
            if i >= len(toks):
                raise _bad("Error in the JQL Query: Expecting a field name but got the end.")
            word = toks[i].lower()
        field = FIELDS.get(word)
        if field is None:
            raise _bad(f"Field '{toks[i]}' does not exist or you do not have permission to view it.")
        if i + 2 > len(toks):
            raise _bad("Error in the JQL Query: Expecting operator but got the end of the query.")
        op = toks[i + 1].lower()
        if op in ("=", "!="):
            clauses.append((field, op, (_value(toks[i + 2]),)))
            i += 3
        elif op in (">", ">=", "<", "<=") and field == "key":
            if not KEY.fullmatch(_value(toks[i + 2])):
                raise _bad(f"The issue key '{_value(toks[i + 2])}' for field 'key' is invalid.")
            clauses.append((field, op, (_value(toks[i + 2]),)))
            i += 3
        elif op == "in" and i + 2 < len(toks) and toks[i + 2] == "(":
            j, values = i + 3, []
            while j < len(toks) and toks[j] != ")":
                if toks[j] != ",":
                    values.append(_value(toks[j]))
                j += 1
            if j >= len(toks):
                raise _bad("Error in the JQL Query: Expecting ')' but got the end of the query.")
            clauses.append((field, "in", tuple(values)))
            i = j + 1
        else:
            raise _bad(f"Error in the JQL Query: Expecting operator but got '{toks[i + 1]}'.")
    return Query(tuple(clauses), descending, by_key)


KEY = re.compile(r"([A-Za-z][A-Za-z0-9_]*)-(\d+)")


def key_order(key: str) -> tuple[str, int]:
    """How JQL orders issue keys: by project key, then by number."""
    m = KEY.fullmatch(key)
    return (m.group(1).upper(), int(m.group(2))) if m else (key.upper(), 0)


def matcher(store: JiraStore, query: Query) -> Callable[[Issue], bool]:
    """A predicate over issues (ids or keys accepted wherever Jira accepts either)."""

    def one(field: str, value: str, issue: Issue) -> bool:
        v = value.lower()
        if field == "project":
            p = store.projects[issue.project_id]
            return v in (p.id, p.key.lower(), p.name.lower())
        if field == "parent":
            parent = store.issues.get(issue.parent_id or "")
            return parent is not None and v in (parent.id, parent.key.lower())
        if field == "issuetype":
            t = store.issue_types[issue.type_id]
            return v in (t.id, t.name.lower())
        if field == "key":
            return v in (issue.id, issue.key.lower())
        if field == "status":
            st = store.statuses[issue.status_id]
            return v in (st.id, st.name.lower())
        if field == "labels":
            return value in issue.labels
        if field == "assignee":
            return issue.assignee == value or (v == "empty" and issue.assignee is None)
        return False

    def compare(op: str, value: str, issue: Issue) -> bool:
        mine, other = key_order(issue.key), key_order(value)
        return {">": mine > other, ">=": mine >= other, "<": mine < other, "<=": mine <= other}[op]

    def match(issue: Issue) -> bool:
        for field, op, values in query.clauses:
            if op in (">", ">=", "<", "<="):
                if not compare(op, values[0], issue):
                    return False
                continue
            hit = any(one(field, value, issue) for value in values)
            if hit == (op == "!="):
                return False
        return True

    return match
