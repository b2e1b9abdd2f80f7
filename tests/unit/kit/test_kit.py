"""The connector kit on its own: error table, refresh-once auth, client, cursors, paging,
define-once. Vendor answers come from an ``httpx.MockTransport`` handler per test."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ConfigDict

from shared.connectors.kit.auth import StaticHeaders, TokenSource, basic, bearer
from shared.connectors.kit.cursor import CursorCodec, InvalidCursor
from shared.connectors.kit.definitions import define_once
from shared.connectors.kit.errors import ErrorTable, becomes, body_says, rule, status_of
from shared.connectors.kit.http import ApiClient
from shared.connectors.kit.markers import find_marker, fits, with_footer, without_footer
from shared.connectors.kit.paging import LinkPaging, OffsetPaging, TokenPaging, fetch_all, fetch_page
from shared.contract.clock import FakeClock
from shared.contract.limits import RateLimit
from shared.contract.pacer import Pacer
from shared.errors import (
    AuthRequiredError,
    FatalRunError,
    NotFoundError,
    PermissionDeniedError,
    SkippableItemError,
    ThrottledError,
    TransientError,
)

Handler = Callable[[httpx.Request], httpx.Response]


def _resp(
    status: int,
    body: Any = None,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    url: str = "https://api.example.com/x",
) -> httpx.Response:
    content = b"" if body is None else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
    return httpx.Response(status, content=content, headers=headers, request=httpx.Request(method, url))


def _client(handler: Handler, credential: Any = None, *, files: Handler | None = None) -> ApiClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="https://api.example.com/v1")
    files_http = httpx.AsyncClient(transport=httpx.MockTransport(files)) if files else None
    pacer = Pacer(RateLimit(requests=1000, per_seconds=1, burst=1000), clock=FakeClock())
    return ApiClient(
        http,
        pacer=pacer,
        errors=ErrorTable("Vendor"),
        credential=credential or bearer("t0", vendor="Vendor"),
        files=files_http,
    )


# --- error table -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "error"),
    [
        (429, {"Retry-After": "7"}, ThrottledError),
        (401, {}, AuthRequiredError),
        (403, {}, SkippableItemError),
        (404, {}, NotFoundError),
        (410, {}, NotFoundError),
        (500, {}, TransientError),
        (408, {}, TransientError),
        (503, {"Retry-After": "3"}, ThrottledError),
        (409, {}, SkippableItemError),
        (412, {}, SkippableItemError),
        (400, {}, SkippableItemError),
    ],
)
def test_default_rules(status: int, headers: dict[str, str], error: type[Exception]) -> None:
    err = ErrorTable("Vendor").error_for(_resp(status, "nope", headers))
    assert type(err) is error
    if status == 429:
        assert getattr(err, "retry_after", None) == 7.0
    if status in (409, 412, 400):
        assert status_of(err) == status  # compare-and-set writers retry on these


def test_vendor_rules_come_first_and_may_pass() -> None:
    table = ErrorTable(
        "Trello",
        [
            rule(401, becomes(PermissionDeniedError), when=lambda r: not body_says("invalid token")(r)),
            rule(400, lambda r, d: None),  # declines: the default decides
        ],
    )
    assert isinstance(table.error_for(_resp(401, "unauthorized permission requested")), PermissionDeniedError)
    assert isinstance(table.error_for(_resp(401, "invalid token")), AuthRequiredError)
    assert isinstance(table.error_for(_resp(400, "bad")), SkippableItemError)
    assert table.error_for(_resp(204)) is None


def test_error_detail_names_vendor_and_path_but_never_the_query() -> None:
    err = ErrorTable("Trello").error_for(_resp(400, "bad", url="https://api.example.com/x?token=SECRET"))
    assert "Trello" in str(err) and "/x" in str(err) and "SECRET" not in str(err)


# --- auth and the client -----------------------------------------------------------------------


async def test_refreshes_once_after_401_then_succeeds() -> None:
    grants: list[str] = []

    async def grant() -> tuple[str, float]:
        grants.append("g")
        return f"tok{len(grants)}", 3600.0

    seen: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req.headers["Authorization"])
        return httpx.Response(401 if req.headers["Authorization"] == "Bearer tok1" else 200, json={"ok": 1})

    api = _client(handler, TokenSource(grant, clock=FakeClock()))
    assert await api.get("/me") == {"ok": 1}
    assert seen == ["Bearer tok1", "Bearer tok2"] and len(grants) == 2


async def test_a_second_401_pauses_the_run() -> None:
    async def grant() -> tuple[str, float]:
        return "same-refused", 3600.0

    calls = 0

    def handler(req: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(401, text="invalid token")

    api = _client(handler, TokenSource(grant, clock=FakeClock()))
    with pytest.raises(AuthRequiredError):
        await api.get("/me")
    assert calls == 2  # one refresh, not a loop


async def test_static_credential_401_is_final_without_a_resend() -> None:
    calls = 0

    def handler(req: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        assert req.headers["Authorization"].startswith("Basic ")
        return httpx.Response(401)

    with pytest.raises(AuthRequiredError):
        await _client(handler, basic("me@x.org", "pat", vendor="Jira")).get("/myself")
    assert calls == 1


async def test_concurrent_refreshes_make_one_grant() -> None:
    grants = 0

    async def grant() -> tuple[str, float]:
        nonlocal grants
        grants += 1
        await asyncio.sleep(0)
        return f"tok{grants}", 3600.0

    source = TokenSource(grant, clock=FakeClock())
    first = await source.headers()
    fresh = await asyncio.gather(*(source.refresh(first) for _ in range(5)))
    assert grants == 2 and {h["Authorization"] for h in fresh} == {"Bearer tok2"}


async def test_token_renewed_before_expiry() -> None:
    clock = FakeClock()
    n = 0

    async def grant() -> tuple[str, float]:
        nonlocal n
        n += 1
        return f"tok{n}", 120.0

    source = TokenSource(grant, clock=clock, skew_s=60)
    assert await source.token() == "tok1"
    clock.advance(30)
    assert await source.token() == "tok1"
    clock.advance(40)  # 70 s: inside the skew
    assert await source.token() == "tok2"


async def test_one_shot_upload_is_not_resent() -> None:
    calls = 0

    def handler(req: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503)

    async def body() -> AsyncIterator[bytes]:
        yield b"abc"

    with pytest.raises(TransientError):
        await _client(handler).upload("POST", "/files", body(), content_type="text/plain", length=3)
    assert calls == 1


async def test_create_5xx_is_ambiguous_and_not_retried_but_get_is() -> None:
    calls: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req.method)
        return httpx.Response(502) if len(calls) == 1 else httpx.Response(200, json={"id": "1"})

    api = _client(handler)
    with pytest.raises(TransientError):
        await api.json("POST", "/items", json={"a": 1}, idempotent=False)
    assert await api.get("/items/1") == {"id": "1"}
    assert calls == ["POST", "GET"]


async def test_get_retries_a_5xx_and_a_non_json_success() -> None:
    answers = [httpx.Response(500), httpx.Response(200, text="<html>proxy</html>"), httpx.Response(200, json=[1])]

    api = _client(lambda req: answers.pop(0))
    assert await api.get("/things") == [1]
    assert not answers


async def test_delete_is_idempotent() -> None:
    assert await _client(lambda req: httpx.Response(404)).delete("/items/9") is None


async def test_download_follows_redirect_without_credentials() -> None:
    def api(req: httpx.Request) -> httpx.Response:
        assert req.headers["Authorization"] == "Bearer t0"
        return httpx.Response(302, headers={"location": "https://files.example.net/f?sig=1"})

    def files(req: httpx.Request) -> httpx.Response:
        assert "Authorization" not in req.headers
        return httpx.Response(200, content=b"x" * 3000)

    client = _client(api, files=files)
    got = b"".join([c async for c in client.download("/files/1/content", chunk_size=1024)])
    assert got == b"x" * 3000


async def test_download_of_a_missing_file_is_not_found() -> None:
    client = _client(lambda req: httpx.Response(404, text="gone"))
    with pytest.raises(NotFoundError):
        async for _ in client.download("/files/1/content"):
            pass


# --- cursors ------------------------------------------------------------------------------------


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid")
    off: int = 0
    tok: str | None = None


def test_cursor_round_trip_and_garbage() -> None:
    codec = CursorCodec("Vendor", _State)
    cursor = codec.encode(_State(off=3, tok="a"))
    assert cursor is not None and codec.load(cursor) == _State(off=3, tok="a")
    assert codec.load(None) == _State()
    assert codec.encode(None) is None
    for bad in ("{", "[1]", '{"off": "x"}', '{"evil": 1}'):
        with pytest.raises(InvalidCursor) as info:
            codec.decode(bad)
        assert isinstance(info.value, FatalRunError)


def test_cursor_too_long_is_a_bug() -> None:
    with pytest.raises(ValueError):
        CursorCodec("Vendor").encode({"ids": ["x" * 50] * 100})


# --- paging -------------------------------------------------------------------------------------


async def test_token_paging_walks_and_detects_loops() -> None:
    pages = {
        None: ({"data": [{"id": 1}], "next_page": {"offset": "b"}}),
        "b": ({"data": [{"id": 2}], "next_page": None}),
    }

    async def fetch(path: str, query: dict[str, Any]) -> httpx.Response:
        assert query["limit"] == 100
        return _resp(200, pages[query.get("offset")])

    paging = TokenPaging(records_at=("data",), next_at=("next_page", "offset"), token_param="offset")
    assert await fetch_all(fetch, paging, "/tasks", page_size=500) == [{"id": 1}, {"id": 2}]

    async def looping(path: str, query: dict[str, Any]) -> httpx.Response:
        return _resp(200, {"data": [{"id": 1}], "next_page": {"offset": "a" if query.get("offset") == "b" else "b"}})

    with pytest.raises(TransientError, match="loop"):
        await fetch_all(looping, paging, "/tasks", page_size=10)


async def test_offset_paging_ends_on_a_short_page() -> None:
    async def fetch(path: str, query: dict[str, Any]) -> httpx.Response:
        start = query["page"] * query["limit"]
        return _resp(200, [{"i": i} for i in range(start, min(start + query["limit"], 5))])

    paging = OffsetPaging(offset_param="page", by_page=True, max_size=2)
    records, nxt = await fetch_page(fetch, paging, "/actions", None, page_size=2)
    assert [r["i"] for r in records] == [0, 1] and nxt == "2"
    assert [r["i"] for r in await fetch_all(fetch, paging, "/actions", page_size=2)] == [0, 1, 2, 3, 4]


async def test_link_paging_by_body_and_by_header() -> None:
    async def body(path: str, query: dict[str, Any]) -> httpx.Response:
        if path == "/tasks":
            return _resp(200, {"value": [{"id": 1}], "@odata.nextLink": "https://g/next"})
        return _resp(200, {"value": [{"id": 2}]})

    assert len(await fetch_all(body, LinkPaging(), "/tasks", page_size=50)) == 2

    async def header(path: str, query: dict[str, Any]) -> httpx.Response:
        link = {"Link": '<https://api/p2>; rel="next"'} if path == "/items" else {}
        return _resp(200, [{"id": path}], link)

    got = await fetch_all(header, LinkPaging(records_at=(), next_at=()), "/items", page_size=50)
    assert [r["id"] for r in got] == ["/items", "https://api/p2"]


# --- markers ------------------------------------------------------------------------------------


def test_footer_round_trip_and_cut() -> None:
    marker = "ferry:abc:task:0123456789abcdef"
    text = with_footer("hello", marker)
    assert find_marker(text) == marker and without_footer(text) == "hello"
    cut = with_footer("y" * 500, marker, max_chars=100, note="\n\nNot moved: Bob")
    assert len(cut) == 100 and find_marker(cut) == marker and "Not moved: Bob" in cut
    assert not fits("y" * 500, marker, max_chars=100) and fits("y", marker, max_chars=100)
    assert find_marker("no marker [here]") is None and find_marker(None) is None


# --- define once --------------------------------------------------------------------------------


async def test_two_workers_defining_at_once_keep_one_definition() -> None:
    store: list[dict[str, Any]] = []
    next_id = iter(range(10, 100))
    both_listed = asyncio.Event()
    listed = 0

    async def listing(fresh: bool) -> list[dict[str, Any]]:
        nonlocal listed
        snapshot = list(store)
        if not fresh:
            listed += 1
            if listed == 2:
                both_listed.set()
            await both_listed.wait()  # both see nothing, both create
        return snapshot

    async def create() -> dict[str, Any]:
        made = {"id": next(next_id), "name": "Priority"}
        store.append(made)
        return made

    async def delete(d: dict[str, Any]) -> None:
        store.remove(d)

    def once() -> Any:
        return define_once(
            listing=listing,
            matches=lambda d: d["name"] == "Priority",
            create=create,
            order=lambda d: d["id"],
            identity=lambda d: d["id"],
            delete=delete,
        )

    a, b = await asyncio.gather(once(), once())
    assert a == b == {"id": 10, "name": "Priority"} and store == [{"id": 10, "name": "Priority"}]


async def test_refused_create_takes_the_existing_definition() -> None:
    store: list[dict[str, Any]] = []

    async def listing(fresh: bool) -> list[dict[str, Any]]:
        return list(store) if fresh else []

    async def create() -> dict[str, Any]:
        store.append({"id": 1, "name": "P"})  # another worker won the race
        raise SkippableItemError("name taken", status=400)

    got = await define_once(
        listing=listing,
        matches=lambda d: d["name"] == "P",
        create=create,
        order=lambda d: d["id"],
        identity=lambda d: d["id"],
    )
    assert got == {"id": 1, "name": "P"}


def test_static_headers_are_copies() -> None:
    cred = StaticHeaders({"Authorization": "x"}, vendor="V")
    assert asyncio.run(cred.headers()) == {"Authorization": "x"}


# --- multipart ----------------------------------------------------------------------------------


async def _gather(body: AsyncIterator[bytes]) -> bytes:
    return b"".join([part async for part in body])


async def test_multipart_streams_the_file_with_an_exact_length() -> None:
    from shared.connectors.kit.multipart import FilePart, multipart

    async def chunks() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    form = multipart({"name": "r\u00e9sum\u00e9.txt"}, FilePart('a"b\nc.txt', "text/plain", chunks(), 4))
    raw = await _gather(form.body)
    assert form.length == len(raw) and b"abcd" in raw
    assert b'filename="a%22b%0Ac.txt"' in raw  # no header injection through a name
    boundary = form.content_type.split("boundary=")[1].encode()
    assert raw.endswith(b"--" + boundary + b"--\r\n")


async def test_multipart_refuses_a_source_of_another_size() -> None:
    from shared.connectors.kit.multipart import FilePart, multipart

    for declared in (3, 5):

        async def chunks() -> AsyncIterator[bytes]:
            yield b"abcd"

        form = multipart({}, FilePart("f", "text/plain", chunks(), declared), name_style="rfc5987")
        with pytest.raises(SkippableItemError):
            await _gather(form.body)
