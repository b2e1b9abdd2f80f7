"""Trello REST API simulator (``/1/...``): ``create_app(seed_config=None, *, clock=None)``.

Run: ``python -m simulators.trello --port 8081`` (prints the key and the owner's token), or
``with serve(create_app(SeedConfig(...))) as base:`` in tests (``simulators.common.serve``).

Auth: ``key`` + ``token`` query parameters or ``Authorization: OAuth
oauth_consumer_key="…", oauth_token="…"`` (the only form ``/download/`` accepts). Unknown
token → 401 ``invalid token``; unknown key → 401 ``invalid key``.

Limits (``/_sim/limits`` names): ``token`` 100 / 10 s, ``key`` 300 / 10 s, ``members``
100 / 900 s on ``/1/members/``; 429 bodies ``{"error":"API_TOKEN_LIMIT_EXCEEDED"|
"API_KEY_LIMIT_EXCEEDED","message":"Rate limit exceeded"}``; no Retry-After (Trello sends
none) but ``x-rate-limit-api-{token,key}-{interval-ms,max,remaining}`` on every response;
more than 200 refusals on a key lock the key for the rest of the window.

Endpoints: members (``me``, organizations, boards), organizations (boards, members),
boards (create, get, update, delete, lists, cards[/{filter}] with ``limit/before/since``
and nested ``checklists=all`` / ``attachments=true``, labels, members, checklists,
actions), lists, labels, cards (CRUD, actions with ``filter/limit/page/before/since``,
comments, attachments: multipart or URL, metadata, ``/download/{fileName}`` → 302 to a
signed ``/files/…`` URL, checklists, checkItem, idLabels, idMembers), checklists
(``POST /1/checklists?idCard=…`` as well as ``POST /1/cards/{id}/checklists``, both with
``idChecklistSource`` to copy another checklist's items; get, delete), checkItems, actions
(get/edit/delete).

Faults (``POST /_sim/faults``, :mod:`simulators.common` has the whole format): besides the
fail-before-write kinds (``status``, ``drop``), ``apply_then_drop`` / ``apply_then_status``
serve a write in full and then lose the answer (connection reset, or e.g. a 502), and
``nth`` targets one exact call, e.g. the second check item of a run::

    {"faults": [{"kind": "apply_then_drop", "method": "POST",
                 "path": "^/1/checklists/*/checkItems$", "nth": 2}]}

Seed (``SeedConfig``, deterministic): workspaces with members (e-mails — shown only to the
token's owner, or to everyone with ``enterprise_managed=True``; ``/_sim/state`` always has
them and every member's token ``simtoken-<seed>-<n>``), boards with lists (one archived),
~100 cards per board, coloured and colourless labels, checklists, comments (one card with
120 for paging, some edited), uploaded files of ``attachment_sizes`` (bytes generated on
demand) and links to Google Drive/Docs, Dropbox, OneDrive, SharePoint and the web, archived
cards, unicode and 16,384-character descriptions, due/start dates, dueComplete, members
on cards.

Where the simulator follows the real API rather than the published OpenAPI, see
``spec_check.SPEC_FIXES``.
"""

from __future__ import annotations

from simulators.trello.app import create_app
from simulators.trello.seed import SeedConfig

__all__ = ["SeedConfig", "create_app"]
