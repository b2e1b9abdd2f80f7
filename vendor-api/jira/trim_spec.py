"""Trim Atlassian's Jira Cloud platform OpenAPI (2.4 MB) to the operations Ferry uses.

Source: the file Atlassian publishes as
https://developer.atlassian.com/cloud/jira/platform/swagger-v3.v3.json, copied from
``jarekbird/jira-api-mcp-wrapper`` path ``swagger-v3.v3.json`` commit
``9a9e84dacce9900b0bd4f1f095f5f1bdf3ce0168`` (info.version
``1001.0.0-SNAPSHOT-57a0ca5b4a0bb0ac5f3fee4764acb1c14e4d7e71``; ``info.license`` Apache 2.0).

What the trim does, and nothing else: keep the operations listed in ``KEEP`` (path +
methods) with their definitions unchanged, and the component schemas they reference
(transitively, through every ``$ref``), plus ``securitySchemes``, ``info``, ``servers`` and
``openapi``. No definition is edited; fixes the simulator needs are listed in
``simulators/jira/spec.py`` (``SPEC_FIXES``).

Run: ``python vendor-api/jira/trim_spec.py <full swagger-v3.v3.json> [out]`` (default out:
``swagger-v3.trimmed.json`` next to this script). Output is sorted, indented JSON so a
re-run is byte-identical.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

#: path → methods the simulator serves and the connector calls
KEEP: dict[str, tuple[str, ...]] = {
    "/rest/api/3/myself": ("get",),
    "/rest/api/3/field": ("get",),
    "/rest/api/3/user/search": ("get",),
    "/rest/api/3/user/assignable/search": ("get",),
    "/rest/api/3/project": ("post",),
    "/rest/api/3/project/search": ("get",),
    "/rest/api/3/project/{projectIdOrKey}": ("get", "put", "delete"),
    "/rest/api/3/project/{projectIdOrKey}/statuses": ("get",),
    "/rest/api/3/project/{projectIdOrKey}/components": ("get",),
    "/rest/api/3/component": ("post",),
    "/rest/api/3/component/{id}": ("get", "delete"),
    "/rest/api/3/statuses": ("post",),
    "/rest/api/3/priority/search": ("get",),
    "/rest/api/3/issuetype/project": ("get",),
    "/rest/api/3/search/jql": ("get", "post"),
    "/rest/api/3/issue": ("post",),
    "/rest/api/3/issue/{issueIdOrKey}": ("get", "put", "delete"),
    "/rest/api/3/issue/{issueIdOrKey}/transitions": ("get", "post"),
    "/rest/api/3/issue/{issueIdOrKey}/comment": ("get", "post"),
    "/rest/api/3/issue/{issueIdOrKey}/comment/{id}": ("get", "put", "delete"),
    "/rest/api/3/issue/{issueIdOrKey}/attachments": ("post",),
    "/rest/api/3/attachment/{id}": ("get", "delete"),
    "/rest/api/3/attachment/content/{id}": ("get",),
    "/rest/api/3/issue/{issueIdOrKey}/remotelink": ("get", "post"),
    "/rest/api/3/issue/{issueIdOrKey}/remotelink/{linkId}": ("get", "delete"),
}


def _refs(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            out.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _refs(value, out)


def trim(full: dict[str, Any]) -> dict[str, Any]:
    """The trimmed document (see the module docstring)."""
    paths: dict[str, Any] = {}
    for path, methods in KEEP.items():
        item = full["paths"][path]
        kept = {m: item[m] for m in methods}
        kept.update({k: v for k, v in item.items() if k == "parameters"})
        paths[path] = kept
    schemas = full["components"]["schemas"]
    wanted: set[str] = set()
    _refs(paths, wanted)
    todo = list(wanted)
    while todo:
        found: set[str] = set()
        _refs(schemas[todo.pop()], found)
        for name in found - wanted:
            wanted.add(name)
            todo.append(name)
    return {"openapi": full["openapi"], "info": full["info"], "servers": full["servers"],
            "paths": paths,
            "components": {"schemas": {n: schemas[n] for n in sorted(wanted)},
                           "securitySchemes": full["components"]["securitySchemes"]}}


def main(argv: list[str]) -> None:
    src = Path(argv[1])
    out = Path(argv[2]) if len(argv) > 2 else Path(__file__).with_name(
        "swagger-v3.trimmed.json")
    full = json.loads(src.read_text(encoding="utf-8"))
    out.write_text(json.dumps(trim(full), indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    print(f"{out}: {out.stat().st_size} bytes, {len(KEEP)} paths")


if __name__ == "__main__":
    main(sys.argv)
