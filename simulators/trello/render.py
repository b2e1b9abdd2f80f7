"""Turn store records into the JSON Trello returns (default field sets as the real API)."""

from __future__ import annotations

import hashlib
from typing import Any

from simulators.trello.ids import iso, short_link, slugify
from simulators.trello.store import (
    Action,
    Attachment,
    Board,
    Card,
    CheckItem,
    Checklist,
    Label,
    Member,
    Organization,
    TList,
    TrelloStore,
)

WEB = "https://trello.com"


def pick(obj: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Apply Trello's ``fields`` parameter (``all`` or a comma list; ``id`` is always kept)."""
    if not fields or fields == "all":
        return obj
    wanted = {f.strip() for f in fields.split(",") if f.strip()} | {"id"}
    return {k: v for k, v in obj.items() if k in wanted}


def _avatar(m: Member) -> tuple[str, str]:
    digest = hashlib.md5(m.username.encode(), usedforsecurity=False).hexdigest()
    return digest, f"https://trello-members.s3.amazonaws.com/{m.id}/{digest}"


def member(m: Member, *, show_email: bool) -> dict[str, Any]:
    """Trello hides ``email`` except for the token's own member (or managed enterprise)."""
    avatar_hash, avatar_url = _avatar(m)
    out: dict[str, Any] = {
        "id": m.id,
        "username": m.username,
        "fullName": m.full_name,
        "initials": m.initials,
        "avatarHash": avatar_hash,
        "avatarUrl": avatar_url,
        "confirmed": True,
        "memberType": "normal",
        "url": f"{WEB}/{m.username}",
        "activityBlocked": False,
        "bio": "",
        "idOrganizations": [],
        "idBoards": [],
    }
    if show_email:
        out["email"] = m.email
    return out


def member_brief(m: Member) -> dict[str, Any]:
    """What ``GET /boards/{id}/members`` and ``memberCreator`` carry."""
    avatar_hash, avatar_url = _avatar(m)
    return {
        "id": m.id,
        "username": m.username,
        "fullName": m.full_name,
        "initials": m.initials,
        "avatarHash": avatar_hash,
        "avatarUrl": avatar_url,
    }


def organization(o: Organization, store: TrelloStore) -> dict[str, Any]:
    return {
        "id": o.id,
        "name": o.name,
        "displayName": o.display_name,
        "desc": o.desc,
        "url": f"{WEB}/w/{o.name}",
        "website": None,
        "logoHash": None,
        "idBoards": [b.id for b in store.boards.values() if b.id_organization == o.id],
        "prefs": {"permissionLevel": "private"},
        "premiumFeatures": [],
    }


def board(b: Board, store: TrelloStore) -> dict[str, Any]:
    link = short_link(b.id)
    label_names = dict.fromkeys(("green", "yellow", "orange", "red", "purple", "blue"), "")
    return {
        "id": b.id,
        "name": b.name,
        "desc": b.desc,
        "descData": "",
        "closed": b.closed,
        "idOrganization": b.id_organization,
        "pinned": False,
        "idMemberCreator": b.id_member_creator,
        "url": f"{WEB}/b/{link}/{slugify(b.name)}",
        "shortUrl": f"{WEB}/b/{link}",
        "shortLink": link,
        "labelNames": label_names,
        "starred": False,
        "subscribed": False,
        "dateLastActivity": iso(b.last_activity),
        "prefs": {
            "permissionLevel": b.permission_level,
            "hideVotes": False,
            "voting": "disabled",
            "comments": "members",
            "invitations": "members",
            "selfJoin": True,
            "cardCovers": True,
            "isTemplate": False,
            "cardAging": "regular",
            "calendarFeedEnabled": False,
            "backgroundTile": False,
        },
    }


def tlist(x: TList) -> dict[str, Any]:
    return {
        "id": x.id,
        "name": x.name,
        "closed": x.closed,
        "idBoard": x.id_board,
        "pos": x.pos,
        "subscribed": False,
        "color": None,
    }


def label(x: Label, uses: int = 0) -> dict[str, Any]:
    return {"id": x.id, "idBoard": x.id_board, "name": x.name, "color": x.color, "uses": uses}


def check_item(i: CheckItem) -> dict[str, Any]:
    return {
        "id": i.id,
        "idChecklist": i.id_checklist,
        "name": i.name,
        "nameData": None,
        "pos": i.pos,
        "state": i.state,
        "due": iso(i.due),
        "dueReminder": None,
        "idMember": i.id_member,
    }


def checklist(cl: Checklist) -> dict[str, Any]:
    return {
        "id": cl.id,
        "name": cl.name,
        "idBoard": cl.id_board,
        "idCard": cl.id_card,
        "pos": cl.pos,
        "checkItems": [check_item(i) for i in sorted(cl.items, key=lambda i: i.pos)],
    }


def card(c: Card, store: TrelloStore) -> dict[str, Any]:
    link = short_link(c.id)
    items = [i for cl_id in c.id_checklists for i in store.checklists[cl_id].items]
    comments = sum(1 for a in store.card_actions(c.id) if a.type == "commentCard")
    labels = [label(store.labels[i]) for i in c.id_labels if i in store.labels]
    for lab in labels:
        lab.pop("uses")
    return {
        "id": c.id,
        "name": c.name,
        "desc": c.desc,
        "descData": {"emoji": {}},
        "closed": c.closed,
        "idBoard": c.id_board,
        "idList": c.id_list,
        "pos": c.pos,
        "idShort": c.id_short,
        "shortLink": link,
        "shortUrl": f"{WEB}/c/{link}",
        "url": f"{WEB}/c/{link}/{c.id_short}-{slugify(c.name)}",
        "due": iso(c.due),
        "start": iso(c.start),
        "dueComplete": c.due_complete,
        "dueReminder": None,
        "dateLastActivity": iso(c.last_activity),
        "idMembers": list(c.id_members),
        "idLabels": list(c.id_labels),
        "labels": labels,
        "idChecklists": list(c.id_checklists),
        "idMembersVoted": [],
        "idAttachmentCover": c.id_attachment_cover,
        "manualCoverAttachment": False,
        "checkItemStates": [],
        "subscribed": False,
        "address": None,
        "locationName": None,
        "coordinates": None,
        "cardRole": None,
        "isTemplate": False,
        "mirrorSourceId": None,
        "cover": {
            "idAttachment": c.id_attachment_cover,
            "color": None,
            "idUploadedBackground": None,
            "size": "normal",
            "brightness": "dark",
            "isTemplate": False,
        },
        "badges": {
            "attachmentsByType": {"trello": {"board": 0, "card": 0}},
            "location": False,
            "votes": 0,
            "viewingMemberVoted": False,
            "subscribed": False,
            "fogbugz": "",
            "checkItems": len(items),
            "checkItemsChecked": sum(1 for i in items if i.state == "complete"),
            "comments": comments,
            "attachments": len(store.card_attachments(c.id)),
            "description": bool(c.desc),
            "due": iso(c.due),
            "start": iso(c.start),
            "dueComplete": c.due_complete,
        },
    }


def action(a: Action, store: TrelloStore) -> dict[str, Any]:
    c = store.cards.get(a.id_card)
    b = store.boards.get(a.id_board)
    lst = store.lists.get(c.id_list) if c else None
    creator = store.members.get(a.id_member_creator)
    data: dict[str, Any] = {
        "card": {
            "id": a.id_card,
            "name": c.name if c else "",
            "idShort": c.id_short if c else 0,
            "shortLink": short_link(a.id_card),
        },
        "board": {"id": a.id_board, "name": b.name if b else "", "shortLink": short_link(a.id_board)},
        "list": {"id": lst.id if lst else "", "name": lst.name if lst else ""},
    }
    if a.type == "commentCard":
        data["text"] = a.text
        data["textData"] = {"emoji": {}}
        if a.date_last_edited is not None:
            data["dateLastEdited"] = iso(a.date_last_edited)
    out: dict[str, Any] = {
        "id": a.id,
        "idMemberCreator": a.id_member_creator,
        "type": a.type,
        "date": iso(a.date),
        "data": data,
        "appCreator": None,
        "limits": {
            "reactions": {
                "perAction": {"status": "ok", "disableAt": 900, "warnAt": 810},
                "uniquePerAction": {"status": "ok", "disableAt": 17, "warnAt": 16},
            }
        },
    }
    if creator:
        out["memberCreator"] = member_brief(creator)
    return out


def attachment(a: Attachment, base_url: str) -> dict[str, Any]:
    if a.is_upload:
        url = f"{base_url}/1/cards/{a.id_card}/attachments/{a.id}/download/{a.file_name}"
    else:
        url = a.link_url or ""
    return {
        "id": a.id,
        "bytes": a.size,
        "date": iso(a.date),
        "edgeColor": None,
        "idMember": a.id_member,
        "isUpload": a.is_upload,
        "mimeType": a.mime_type,
        "name": a.name,
        "previews": [],
        "url": url,
        "pos": a.pos,
        "fileName": a.file_name,
    }
