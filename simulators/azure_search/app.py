"""A small stateful simulator of the Azure AI Search data-plane REST API, enough for the
assistant's use of `azure-search-documents` (tried with 12.0.0):

- `PUT /indexes('NAME')` (create or update; 201 then 200), `GET /indexes('NAME')`;
- `POST /indexes('NAME')/docs/search.index` with `{"value": [{"@search.action": upload |
  merge | mergeOrUpload | delete, …}]}` → `{"value": [{key, status, statusCode}]}`;
- `POST /indexes('NAME')/docs/search.post.search`: `search` (keywords, `*` for all),
  `filter` (the OData subset Ferry writes: `field eq 'v'` joined by `and`/`or`, parentheses,
  `search.in(field, 'a,b', ',')`), `top`, `skip`, `select` (one comma string), `count`,
  `vectorQueries` (`kind: vector`, cosine over the vector field); keyword and vector
  rankings are fused by reciprocal rank, as the service's hybrid query does.

A filter the simulator cannot parse is a 400, like the service: a query is never run
unfiltered by mistake. Requests need an `api-key` header or a bearer token (401 without).
Fault plans come from simulators/common.py (`/_sim/faults`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from simulators.common import SimRuntime, mount_sim_controls

Doc = dict[str, Any]
Predicate = Callable[[Doc], bool]
_TOKEN = re.compile(r"[a-z0-9]+")
_INDEX = r"/indexes\('(?P<name>[^']+)'\)"


class FilterError(ValueError):
    pass


def parse_filter(text: str) -> Predicate:
    """Parse the OData subset (see the module docstring) into a predicate."""
    tokens = re.findall(r"search\.in\(\s*\w+\s*,\s*'[^']*'\s*(?:,\s*'[^']*'\s*)?\)|\(|\)|'(?:[^']|'')*'|\w+", text)
    if "".join(tokens).replace(" ", "") != re.sub(r"\s+", "", text):
        raise FilterError(f"unsupported filter: {text}")
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise FilterError("unexpected end of filter")
        pos += 1
        return str(tokens[pos - 1])

    def expr() -> Predicate:
        left = term()
        while peek() == "or":
            take()
            right, prev = term(), left
            left = (lambda a, b: lambda d: a(d) or b(d))(prev, right)
        return left

    def term() -> Predicate:
        left = factor()
        while peek() == "and":
            take()
            right, prev = factor(), left
            left = (lambda a, b: lambda d: a(d) and b(d))(prev, right)
        return left

    def factor() -> Predicate:
        token = take()
        if token == "(":
            inner = expr()
            if take() != ")":
                raise FilterError("missing )")
            return inner
        if token.startswith("search.in("):
            m = re.match(r"search\.in\(\s*(\w+)\s*,\s*'([^']*)'\s*(?:,\s*'([^']*)'\s*)?\)", token)
            if not m:
                raise FilterError(token)
            field, values, sep = m.group(1), m.group(2), m.group(3) or ","
            allowed = set(values.split(sep)) if sep.strip() else set(values.split())
            return lambda d: d.get(field) in allowed
        field = token
        if take() != "eq":
            raise FilterError("only eq is supported")
        literal = take()
        if not (literal.startswith("'") and literal.endswith("'")):
            raise FilterError("string literals only")
        value = literal[1:-1].replace("''", "'")
        return lambda d: d.get(field) == value

    predicate = expr()
    if peek() is not None:
        raise FilterError(f"unexpected {peek()!r}")
    return predicate


def _bm25(query: list[str], docs: dict[str, list[str]]) -> dict[str, float]:
    n = len(docs) or 1
    avg = sum(len(t) for t in docs.values()) / n or 1.0
    df: dict[str, int] = {}
    for toks in docs.values():
        for t in set(toks):
            df[t] = df.get(t, 0) + 1
    out: dict[str, float] = {}
    for key, toks in docs.items():
        score = 0.0
        for term in set(query):
            f = toks.count(term)
            if f:
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                score += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * len(toks) / avg))
        if score:
            out[key] = score
    return out


class SearchStore:
    def __init__(self) -> None:
        self.indexes: dict[str, dict[str, Any]] = {}
        self.docs: dict[str, dict[str, Doc]] = {}
        self.queries: list[dict[str, Any]] = []  # every search body, for tests to inspect

    def dump(self) -> dict[str, Any]:
        return {"indexes": list(self.indexes), "docs": {k: len(v) for k, v in self.docs.items()}}

    def key_field(self, name: str) -> str:
        fields = self.indexes[name].get("fields") or []
        return next((f["name"] for f in fields if f.get("key")), "id")

    def search(self, name: str, body: dict[str, Any]) -> list[tuple[Doc, float]]:
        docs = list(self.docs.get(name, {}).values())
        if body.get("filter"):
            predicate = parse_filter(body["filter"])
            docs = [d for d in docs if predicate(d)]
        key = self.key_field(name)
        by_key = {d[key]: d for d in docs}
        rankings: list[list[str]] = []
        text = (body.get("search") or "*").strip()
        if text != "*":
            scores = _bm25(
                _TOKEN.findall(text.lower()),
                {
                    k: _TOKEN.findall(" ".join(str(v) for f, v in d.items() if isinstance(v, str) and f != key).lower())
                    for k, d in by_key.items()
                },
            )
            rankings.append(sorted(scores, key=lambda k: -scores[k]))
        for vq in body.get("vectorQueries") or []:
            if vq.get("kind") != "vector":
                continue
            field, vector = vq.get("fields", "vector"), vq.get("vector") or []
            sims = {k: _cosine(vector, d.get(field) or []) for k, d in by_key.items()}
            k_nearest = int(vq.get("k") or vq.get("kNearestNeighbors") or 50)
            rankings.append(sorted(sims, key=lambda k: -sims[k])[:k_nearest])
        if not rankings:
            return [(d, 1.0) for d in docs]
        fused: dict[str, float] = {}
        for ranking in rankings:
            for rank, k in enumerate(ranking):
                fused[k] = fused.get(k, 0.0) + 1.0 / (60 + rank + 1)
        return [(by_key[k], fused[k]) for k in sorted(fused, key=lambda k: -fused[k])]


def _cosine(a: list[float], b: list[float]) -> float:
    if not a or not b or len(a) != len(b):
        return -1.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else -1.0


def create_app(store: SearchStore | None = None) -> FastAPI:
    store = store or SearchStore()
    app = FastAPI(title="Azure AI Search simulator")
    app.state.store = store

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Any) -> Any:
        if request.url.path.startswith("/_sim"):
            return await call_next(request)
        if not request.headers.get("api-key") and not request.headers.get("authorization", "").startswith("Bearer "):
            return JSONResponse({"error": {"code": "Unauthorized", "message": "no credential"}}, status_code=401)
        return await call_next(request)

    @app.put("/indexes('{name}')")
    async def put_index(name: str, request: Request) -> JSONResponse:
        body = await request.json()
        created = name not in store.indexes
        store.indexes[name] = body
        store.docs.setdefault(name, {})
        return JSONResponse(body, status_code=201 if created else 200)

    @app.get("/indexes('{name}')")
    async def get_index(name: str) -> JSONResponse:
        if name not in store.indexes:
            return _not_found(name)
        return JSONResponse(store.indexes[name])

    @app.post("/indexes('{name}')/docs/search.index")
    async def index_docs(name: str, request: Request) -> JSONResponse:
        if name not in store.indexes:
            return _not_found(name)
        key = store.key_field(name)
        docs = store.docs[name]
        results = []
        for action in (await request.json()).get("value", []):
            kind = action.pop("@search.action", "upload")
            doc_key = action.get(key)
            if kind == "delete":
                docs.pop(doc_key, None)
                results.append({"key": doc_key, "status": True, "errorMessage": None, "statusCode": 200})
                continue
            if kind == "merge" and doc_key not in docs:
                results.append({"key": doc_key, "status": False, "errorMessage": "not found", "statusCode": 404})
                continue
            docs[doc_key] = {**docs.get(doc_key, {}), **action} if kind in ("merge", "mergeOrUpload") else action
            results.append(
                {"key": doc_key, "status": True, "errorMessage": None, "statusCode": 200 if kind != "upload" else 201}
            )
        return JSONResponse({"value": results})

    @app.post("/indexes('{name}')/docs/search.post.search")
    async def search(name: str, request: Request) -> JSONResponse:
        if name not in store.indexes:
            return _not_found(name)
        body = await request.json()
        store.queries.append(body)
        try:
            ranked = store.search(name, body)
        except FilterError as exc:
            return JSONResponse({"error": {"code": "InvalidRequestParameter", "message": str(exc)}}, status_code=400)
        skip, top = int(body.get("skip") or 0), int(body.get("top") if body.get("top") is not None else 50)
        select = [s.strip() for s in (body.get("select") or "").split(",") if s.strip()]
        page = []
        for doc, score in ranked[skip : skip + top]:
            shown = {k: v for k, v in doc.items() if not select or k in select}
            page.append({"@search.score": score, **shown})
        answer: dict[str, Any] = {"value": page}
        if body.get("count"):
            answer["@odata.count"] = len(ranked)
        return JSONResponse(answer)

    return mount_sim_controls(app, SimRuntime(state=store.dump))  # type: ignore[return-value]


def _not_found(name: str) -> JSONResponse:
    return JSONResponse({"error": {"code": "ResourceNotFound", "message": f"index {name} not found"}}, status_code=404)
