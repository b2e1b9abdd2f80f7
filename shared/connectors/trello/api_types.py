"""Trello wire types: only the fields Ferry reads, everything else ignored.

Field names are Trello's (https://developer.atlassian.com/cloud/trello/guides/rest-api/object-definitions/).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: Trello's label colours (the API refuses others).
LABEL_COLORS: tuple[str, ...] = ("green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "black")


class _Wire(BaseModel):  # field names are Trello's (camelCase)
    model_config = ConfigDict(extra="ignore", frozen=True)


class TMember(_Wire):
    id: str
    username: str = ""
    fullName: str = ""
    email: str | None = None


class TOrganization(_Wire):
    id: str
    name: str = ""
    displayName: str = ""


class TBoard(_Wire):
    id: str
    name: str = ""
    desc: str = ""
    closed: bool = False
    idOrganization: str | None = None


class TList(_Wire):
    id: str
    name: str = ""
    closed: bool = False
    pos: float = 0.0
    idBoard: str = ""


class TLabel(_Wire):
    id: str
    idBoard: str = ""
    name: str | None = ""
    color: str | None = None


class TCheckItem(_Wire):
    id: str
    name: str = ""
    state: str = "incomplete"
    pos: float = 0.0
    due: str | None = None
    idMember: str | None = None


class TChecklist(_Wire):
    id: str
    name: str = ""
    pos: float = 0.0
    checkItems: list[TCheckItem] = Field(default_factory=list)


class TBadges(_Wire):
    comments: int = 0
    attachments: int = 0


class TCard(_Wire):
    id: str
    name: str = ""
    desc: str = ""
    closed: bool = False
    idBoard: str = ""
    idList: str = ""
    pos: float = 0.0
    due: str | None = None
    start: str | None = None
    dueComplete: bool = False
    idMembers: list[str] = Field(default_factory=list)
    labels: list[TLabel] = Field(default_factory=list)
    checklists: list[TChecklist] = Field(default_factory=list)  # with checklists=all
    badges: TBadges = Field(default_factory=TBadges)


class TActionCard(_Wire):
    id: str


class TActionData(_Wire):
    text: str = ""
    card: TActionCard | None = None
    dateLastEdited: str | None = None


class TAction(_Wire):
    id: str
    type: str
    date: str
    idMemberCreator: str | None = None
    data: TActionData = Field(default_factory=TActionData)
    memberCreator: TMember | None = None


class TAttachment(_Wire):
    id: str
    name: str = ""
    bytes: int | None = None
    date: str | None = None
    idMember: str | None = None
    isUpload: bool = False
    mimeType: str | None = None
    url: str = ""
    fileName: str | None = None
