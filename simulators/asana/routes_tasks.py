"""Tasks, subtasks, stories, tags on tasks and attachments (paths as in asana_oas.yaml)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from simulators.asana import attachments as att_ops
from simulators.asana import tasks as ops
from simulators.asana.api import CtxDep, body_data
from simulators.asana.models import AsanaApiError, bad_request

router = APIRouter()
downloads = APIRouter()


# --- task lists ------------------------------------------------------------------------------


@router.get("/tasks")
async def get_tasks(ctx: CtxDep) -> JSONResponse:
    q, store = ctx.query, ctx.store
    given = [k for k in ("project", "section", "tag") if q.get(k)]
    pair = bool(q.get("assignee")) and bool(q.get("workspace"))
    if len(given) + int(pair) != 1 or (not pair and (q.get("assignee") or q.get("workspace"))):
        raise bad_request("Must specify exactly one of project, tag, section, user task list, or assignee + workspace")
    if q.get("project"):
        tasks = ops.project_tasks(store, q["project"])
    elif q.get("section"):
        tasks = ops.live_tasks(store, store.section(q["section"]).task_gids)
    elif q.get("tag"):
        tag = store.tag(q["tag"])
        tasks = [t for t in store.tasks.values() if tag.gid in t.tag_gids and not t.deleted]
    else:
        ws = store.workspace(q["workspace"])
        uid = store.user(q["assignee"], me=ctx.me).gid
        tasks = [t for t in store.tasks.values() if t.workspace == ws.gid and t.assignee == uid and not t.deleted]
    return ctx.page("task", ops.filter_tasks(tasks, q))


@router.get("/projects/{project_gid}/tasks")
async def get_project_tasks(project_gid: str, ctx: CtxDep) -> JSONResponse:
    return ctx.page("task", ops.filter_tasks(ops.project_tasks(ctx.store, project_gid), ctx.query))


@router.get("/sections/{section_gid}/tasks")
async def get_section_tasks(section_gid: str, ctx: CtxDep) -> JSONResponse:
    sec = ctx.store.section(section_gid)
    return ctx.page("task", ops.filter_tasks(ops.live_tasks(ctx.store, sec.task_gids), ctx.query))


@router.get("/tags/{tag_gid}/tasks")
async def get_tag_tasks(tag_gid: str, ctx: CtxDep) -> JSONResponse:
    tag = ctx.store.tag(tag_gid)
    return ctx.page("task", [t for t in ctx.store.tasks.values() if tag.gid in t.tag_gids and not t.deleted])


# --- single tasks ----------------------------------------------------------------------------


@router.post("/tasks")
async def create_task(request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        task = ops.create_task(ctx.store, ctx.me, data)
    return ctx.one("task", task, 201)


@router.get("/tasks/{task_gid}")
async def get_task(task_gid: str, ctx: CtxDep) -> JSONResponse:
    return ctx.one("task", ctx.store.task(task_gid))


@router.put("/tasks/{task_gid}")
async def update_task(task_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        task = ops.update_task(ctx.store, ctx.me, task_gid, data)
    return ctx.one("task", task)


@router.delete("/tasks/{task_gid}")
async def delete_task(task_gid: str, ctx: CtxDep) -> JSONResponse:
    with ctx.store.lock:
        ops.delete_task(ctx.store, task_gid)
    return ctx.empty()


@router.get("/tasks/{task_gid}/subtasks")
async def get_subtasks(task_gid: str, ctx: CtxDep) -> JSONResponse:
    task = ctx.store.task(task_gid)
    return ctx.page("task", ops.live_tasks(ctx.store, task.subtask_gids))


@router.post("/tasks/{task_gid}/subtasks")
async def create_subtask(task_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        task = ops.create_task(ctx.store, ctx.me, data, parent_gid=task_gid)
    return ctx.one("task", task, 201)


@router.post("/sections/{section_gid}/addTask")
async def add_task_to_section(section_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        ops.add_task_to_section(ctx.store, ctx.me, section_gid, data)
    return ctx.empty()


@router.post("/tasks/{task_gid}/addProject")
async def add_project(task_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    if not data.get("project"):
        raise bad_request("project: Missing input")
    with ctx.store.lock:
        ops.add_to_project(
            ctx.store,
            ctx.store.task(task_gid),
            data["project"],
            data.get("section"),
            me=ctx.me,
            before=data.get("insert_before"),
            after=data.get("insert_after"),
        )
    return ctx.empty()


@router.get("/tasks/{task_gid}/tags")
async def get_task_tags(task_gid: str, ctx: CtxDep) -> JSONResponse:
    task = ctx.store.task(task_gid)
    return ctx.page("tag", [ctx.store.tags[g] for g in task.tag_gids if not ctx.store.tags[g].deleted])


@router.post("/tasks/{task_gid}/addTag")
async def add_tag(task_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        ops.set_tag(ctx.store, task_gid, data, add=True)
    return ctx.empty()


@router.post("/tasks/{task_gid}/removeTag")
async def remove_tag(task_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        ops.set_tag(ctx.store, task_gid, data, add=False)
    return ctx.empty()


# --- stories ---------------------------------------------------------------------------------


@router.get("/tasks/{task_gid}/stories")
async def get_stories(task_gid: str, ctx: CtxDep) -> JSONResponse:
    return ctx.page("story", ops.task_stories(ctx.store, task_gid))


@router.post("/tasks/{task_gid}/stories")
async def create_story(task_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        story = ops.create_comment(ctx.store, ctx.me, task_gid, data)
    return ctx.one("story", story, 201)


@router.get("/stories/{story_gid}")
async def get_story(story_gid: str, ctx: CtxDep) -> JSONResponse:
    return ctx.one("story", ctx.store.story(story_gid))


@router.put("/stories/{story_gid}")
async def update_story(story_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        story = ops.update_comment(ctx.store, ctx.me, story_gid, data)
    return ctx.one("story", story)


@router.delete("/stories/{story_gid}")
async def delete_story(story_gid: str, ctx: CtxDep) -> JSONResponse:
    with ctx.store.lock:
        story = ctx.store.story(story_gid)
        if story.type != "comment":
            raise bad_request("Only comment stories can be deleted")
        story.deleted = True
    return ctx.empty()


# --- attachments -----------------------------------------------------------------------------


@router.get("/attachments")
async def get_attachments(ctx: CtxDep) -> JSONResponse:
    return ctx.page("attachment", att_ops.attachments_of(ctx.store, ctx.query.get("parent")))


@router.get("/tasks/{task_gid}/attachments")
async def get_task_attachments(task_gid: str, ctx: CtxDep) -> JSONResponse:
    # Deprecated endpoint (no longer in the spec) that older clients still call.
    ctx.store.task(task_gid)
    return ctx.page("attachment", att_ops.attachments_of(ctx.store, task_gid))


@router.post("/attachments")
async def create_attachment(request: Request, ctx: CtxDep) -> JSONResponse:
    # The spec documents multipart/form-data; Asana also takes form-encoded input (external
    # links carry no file), https://developers.asana.com/docs/input-output-options
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise bad_request("file: Missing input; attachments are uploaded as multipart/form-data")
    async with request.form(max_files=1, max_fields=20) as form:
        subtype = str(form.get("resource_subtype") or "asana")
        parent = form.get("parent")
        parent_gid = parent if isinstance(parent, str) else None
        if subtype == "external":
            name, url = form.get("name"), form.get("url")
            with ctx.store.lock:
                att = att_ops.add_external_attachment(
                    ctx.store,
                    ctx.me,
                    parent_gid,
                    name if isinstance(name, str) else None,
                    url if isinstance(url, str) else None,
                )
        elif subtype == "asana":
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise bad_request("file: Missing input")
            with ctx.store.lock:
                att_ops.check_parent(ctx.store, parent_gid)
                upload_dir = ctx.store.uploads_dir()
            # Only the file copy runs in a worker thread; the store is changed here, on the
            # event loop and under its lock, like every other write (a thread writing the
            # store unlocked raced with dumps and other writers).
            spooled = await run_in_threadpool(
                att_ops.spool_upload, upload_dir, upload.file, ctx.store.max_attachment_bytes
            )
            with ctx.store.lock:
                att = att_ops.add_uploaded_attachment(
                    ctx.store, ctx.me, parent_gid, upload.filename or "upload", upload.content_type, spooled
                )
        else:
            raise bad_request(f"resource_subtype: Not a valid enum value: {subtype}")
    return ctx.one("attachment", att, 200)


@router.get("/attachments/{attachment_gid}")
async def get_attachment(attachment_gid: str, ctx: CtxDep) -> JSONResponse:
    return ctx.one("attachment", ctx.store.attachment(attachment_gid))


@router.delete("/attachments/{attachment_gid}")
async def delete_attachment(attachment_gid: str, ctx: CtxDep) -> JSONResponse:
    with ctx.store.lock:
        att_ops.delete_attachment(ctx.store, attachment_gid)
    return ctx.empty()


@downloads.get(att_ops.DOWNLOAD_PREFIX + "/{attachment_gid}/{name}")
async def download(attachment_gid: str, name: str, request: Request) -> Response:
    """The presigned file link of ``download_url`` (no bearer token, expires)."""
    store = request.app.state.asana_store
    try:
        att = att_ops.check_download(
            store, attachment_gid, request.query_params.get("expires"), request.query_params.get("sig")
        )
    except AsanaApiError as exc:
        # Like S3: a small XML error, not Asana's JSON envelope.
        return Response(
            f"<Error><Code>AccessDenied</Code><Message>{exc.message}</Message></Error>",
            status_code=exc.status,
            media_type="application/xml",
        )
    headers = {
        "content-length": str(att.size),
        "content-disposition": f"attachment; filename*=UTF-8''{quote(att.name)}",
    }
    return StreamingResponse(
        iterate_in_threadpool(att_ops.iter_content(att)), media_type=att.content_type, headers=headers
    )
