"""Atlassian Document Format ↔ the canonical description text (Markdown, as Trello writes it).

The canonical model keeps descriptions and comments as text; Trello's are Markdown, Asana's
and Planner's plain text (which is Markdown without markup). Jira v3 keeps rich text as ADF
(https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/). Converted
both ways:

=====================  ==========================================
ADF                    text
=====================  ==========================================
heading (level n)      ``#``×n + space + text
bulletList / listItem  ``- item`` (nested lists indented by two spaces)
orderedList (order k)  ``k. item``, ``k+1. item`` …
codeBlock (language)   fenced: three backticks + language, the code, three backticks
blockquote             ``> `` before each line
rule                   ``---``
paragraph              its text; ``hardBreak`` is a line break
marks                  ``**strong**``, ``*em*``, ``~~strike~~``, `` `code` ``, ``[text](url)``
mention                its text (``@Name``): people are not linked across tools
emoji, inlineCard,     their text, URL, date or label
date, status
table                  ``| a | b |`` lines (text only)
=====================  ==========================================

Blocks are separated by a blank line. The text → ADF direction splits on blank lines only,
so any text survives text → ADF → text unchanged (extra blank lines become empty
paragraphs, single line breaks ``hardBreak`` nodes); Markup is recognised only where it is
balanced (``2 * 3`` stays text). Underline, colours and media have no text form and are
dropped (media are migrated as attachments).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

Node = dict[str, Any]
#: files shown in the text: migrated as attachments, they leave no text behind
_MEDIA = frozenset({"mediaSingle", "mediaGroup", "media"})

# --- ADF → text -------------------------------------------------------------------------------


def adf_to_text(doc: Any) -> str:
    """The text of an ADF document ("" for None or an empty document)."""
    if not isinstance(doc, dict):
        return ""
    return "\n\n".join(
        _block(b, 0) for b in doc.get("content") or [] if isinstance(b, dict) and b.get("type") not in _MEDIA
    )


def _block(node: Node, depth: int) -> str:
    kind = node.get("type")
    content = node.get("content") or []
    if kind == "paragraph":
        return _inline(content)
    if kind == "heading":
        level = int((node.get("attrs") or {}).get("level") or 1)
        return "#" * max(1, min(6, level)) + " " + _inline(content)
    if kind in ("bulletList", "orderedList", "taskList"):
        return _list(node, depth)
    if kind == "codeBlock":
        lang = (node.get("attrs") or {}).get("language") or ""
        code = "".join(str(c.get("text", "")) for c in content if c.get("type") == "text")
        return f"```{lang}\n{code}\n```"
    if kind == "blockquote":
        inner = "\n\n".join(_block(b, 0) for b in content)
        return "\n".join("> " + line if line else ">" for line in inner.split("\n"))
    if kind == "rule":
        return "---"
    if kind == "table":
        rows = []
        for row in content:
            cells = [
                " ".join(_block(b, 0) for b in (cell.get("content") or [])).replace("\n", " ")
                for cell in row.get("content") or []
            ]
            rows.append("| " + " | ".join(cells) + " |")
        return "\n".join(rows)
    if kind in _MEDIA:
        return ""
    # panel, expand, decisionList and other containers: their blocks' text
    if content and all(isinstance(c, dict) and c.get("type") != "text" for c in content):
        return "\n\n".join(_block(b, depth) for b in content)
    return _inline(content)


def _list(node: Node, depth: int) -> str:
    kind = node.get("type")
    start = int((node.get("attrs") or {}).get("order") or 1)
    lines = []
    for n, item in enumerate(node.get("content") or []):
        if kind == "orderedList":
            bullet = f"{start + n}. "
        elif kind == "taskList":
            bullet = "- [x] " if (item.get("attrs") or {}).get("state") == "DONE" else "- [ ] "
        else:
            bullet = "- "
        pad = "  " * depth
        parts: list[str] = []
        children = item.get("content") or []
        if item.get("type") == "taskItem":  # task items hold inline nodes directly
            children = [{"type": "paragraph", "content": children}]
        for child in children:
            if child.get("type") in ("bulletList", "orderedList", "taskList"):
                parts.append(_list(child, depth + 1))
            else:
                text = _block(child, depth + 1)
                parts.append(text.replace("\n", "\n" + pad + "  "))
        first, *rest = parts or [""]
        lines.append(pad + bullet + first)
        lines.extend(rest)
    return "\n".join(lines)


def _inline(nodes: list[Node]) -> str:
    out = []
    for node in nodes:
        kind = node.get("type")
        attrs = node.get("attrs") or {}
        if kind == "text":
            out.append(_marked(str(node.get("text", "")), node.get("marks") or []))
        elif kind == "hardBreak":
            out.append("\n")
        elif kind == "mention":
            text = str(attrs.get("text") or "")
            out.append(text if text.startswith("@") else f"@{text or 'someone'}")
        elif kind == "emoji":
            out.append(str(attrs.get("text") or attrs.get("shortName") or ""))
        elif kind in ("inlineCard", "blockCard", "embedCard"):
            out.append(str(attrs.get("url") or ""))
        elif kind == "date":
            try:
                stamp = datetime.fromtimestamp(int(str(attrs.get("timestamp"))) / 1000, UTC)
                out.append(stamp.date().isoformat())
            except (TypeError, ValueError):
                pass
        elif kind == "status":
            out.append(str(attrs.get("text") or ""))
        elif node.get("content"):
            out.append(_inline(node["content"]))
    return "".join(out)


def _marked(text: str, marks: list[Node]) -> str:
    kinds = {m.get("type"): m for m in marks if isinstance(m, dict)}
    if "code" in kinds:
        text = f"`{text}`"
    if "link" in kinds:
        text = f"[{text}]({(kinds['link'].get('attrs') or {}).get('href', '')})"
    if "strike" in kinds:
        text = f"~~{text}~~"
    if "em" in kinds:
        text = f"*{text}*"
    if "strong" in kinds:
        text = f"**{text}**"
    return text


# --- text → ADF -------------------------------------------------------------------------------

_FENCE = re.compile(r"(?:^|(?<=\n\n))```([^\n`]*)\n(.*?)\n```(?=\n\n|$)", re.DOTALL)
_HEADING = re.compile(r"(#{1,6}) (.*)")
_ITEM = re.compile(r"( *)(?:([-*+])|(\d{1,9})[.)]) (.*)")
_RULE = re.compile(r"(?:---+|\*\*\*+|___+)")
_INLINE = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|\[(?P<ltext>[^\]\n]+)\]\((?P<href>(?:https?|mailto|ftp):[^)\s]+)\)"
    r"|\*\*(?P<strong>(?=\S)(?:[^*]|\*(?!\*))+?(?<=\S))\*\*"
    r"|~~(?P<strike>(?=\S)[^~]+?(?<=\S))~~"
    r"|(?<![*\w])\*(?P<em>(?=[^\s*])[^*\n]+?(?<=[^\s*]))\*(?![*\w])"
)


def text_to_adf(text: str) -> Node:
    """An ADF document whose ``adf_to_text`` is ``text`` again."""
    content: list[Node] = []
    pos = 0
    for fence in _FENCE.finditer(text):
        before = text[pos : fence.start()]
        if before:
            content += _chunks(before.removesuffix("\n\n"))
        block: Node = {
            "type": "codeBlock",
            "content": [{"type": "text", "text": fence.group(2)}] if fence.group(2) else [],
        }
        if fence.group(1):
            block["attrs"] = {"language": fence.group(1)}
        content.append(block)
        pos = fence.end() + (2 if text.startswith("\n\n", fence.end()) else 0)
    rest = text[pos:]
    if rest or not content or text.endswith("\n\n"):
        content += _chunks(rest)
    return {"type": "doc", "version": 1, "content": content}


def _chunks(text: str) -> list[Node]:
    return [_chunk(part) for part in text.split("\n\n")]


def _chunk(part: str) -> Node:
    lines = part.split("\n")
    heading = _HEADING.fullmatch(part)
    if heading and "\n" not in part:
        return {
            "type": "heading",
            "attrs": {"level": len(heading.group(1))},
            "content": _inline_nodes(heading.group(2)),
        }
    if _RULE.fullmatch(part):
        return {"type": "rule"}
    if all(line.startswith("> ") or line == ">" for line in lines):
        inner = "\n".join(line[2:] for line in lines)
        return {"type": "blockquote", "content": [_chunk(p) for p in inner.split("\n\n")]}
    listed = _list_block(lines)
    if listed is not None:
        return listed
    return _paragraph(part)


def _paragraph(text: str) -> Node:
    nodes: list[Node] = []
    for n, line in enumerate(text.split("\n")):
        if n:
            nodes.append({"type": "hardBreak"})
        nodes += _inline_nodes(line)
    return {"type": "paragraph", "content": nodes} if nodes else {"type": "paragraph"}


def _list_block(lines: list[str]) -> Node | None:
    """A (nested) list if every line is an item or an item's continuation, and it renders
    back to exactly these lines; else None (the lines stay a paragraph)."""
    first = _ITEM.fullmatch(lines[0])
    if first is None or first.group(1):
        return None
    parsed = _parse_items(lines, 0, 0)
    if parsed is None or parsed[1] != len(lines):
        return None
    node = parsed[0]
    return node if _list(node, 0) == "\n".join(lines) else None


def _parse_items(lines: list[str], at: int, depth: int) -> tuple[Node, int] | None:
    pad = "  " * depth
    head = _ITEM.fullmatch(lines[at])
    if head is None or head.group(1) != pad:
        return None
    ordered = head.group(3) is not None
    node: Node = {"type": "orderedList" if ordered else "bulletList", "content": []}
    if ordered:
        node["attrs"] = {"order": int(head.group(3))}
    i = at
    while i < len(lines):
        m = _ITEM.fullmatch(lines[i])
        if m is None or m.group(1) != pad or (m.group(3) is not None) != ordered:
            break
        body = [m.group(4)]
        i += 1
        while i < len(lines) and lines[i].startswith(pad + "  ") and not _ITEM.fullmatch(lines[i]):
            body.append(lines[i][len(pad) + 2 :])  # a line break inside the item
            i += 1
        item: Node = {"type": "listItem", "content": [_paragraph("\n".join(body))]}
        if i < len(lines):
            nested = _ITEM.fullmatch(lines[i])
            if nested is not None and nested.group(1) == pad + "  ":
                sub = _parse_items(lines, i, depth + 1)
                if sub is None:
                    return None
                item["content"].append(sub[0])
                i = sub[1]
        node["content"].append(item)
    return node, i


def _inline_nodes(text: str, marks: tuple[Node, ...] = ()) -> list[Node]:
    nodes: list[Node] = []
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            nodes.append(_text(text[pos : m.start()], marks))
        if m.group("code") is not None:
            nodes.append(_text(m.group("code"), (*marks, {"type": "code"})))
        elif m.group("ltext") is not None:
            link = {"type": "link", "attrs": {"href": m.group("href")}}
            nodes += _inline_nodes(m.group("ltext"), (*marks, link))
        elif m.group("strong") is not None:
            nodes += _inline_nodes(m.group("strong"), (*marks, {"type": "strong"}))
        elif m.group("strike") is not None:
            nodes += _inline_nodes(m.group("strike"), (*marks, {"type": "strike"}))
        else:
            nodes += _inline_nodes(m.group("em"), (*marks, {"type": "em"}))
        pos = m.end()
    if pos < len(text):
        nodes.append(_text(text[pos:], marks))
    return nodes


def _text(value: str, marks: tuple[Node, ...]) -> Node:
    node: Node = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def footer_paragraph(marker: str) -> Node:
    """The last paragraph a writer adds: ``[<marker>]`` (``MarkerLocation.DESCRIPTION_FOOTER``)."""
    return {"type": "paragraph", "content": [{"type": "text", "text": f"[{marker}]"}]}


def with_marker(text: str, marker: str) -> Node:
    """``text`` as ADF with the marker paragraph last (text "" → the marker alone)."""
    doc: Node = text_to_adf(text) if text else {"type": "doc", "version": 1, "content": []}
    doc["content"].append(footer_paragraph(marker))
    return doc


def marker_of(doc: Any) -> str | None:
    """The marker in an ADF document's last paragraph (written by ``with_marker``)."""
    if not isinstance(doc, dict) or not doc.get("content"):
        return None
    last = doc["content"][-1]
    parts = last.get("content") or [] if isinstance(last, dict) else []
    if last.get("type") != "paragraph" or len(parts) != 1 or parts[0].get("type") != "text":
        return None
    found = re.fullmatch(r"\[(ferry:[^\[\]\s]+)\]", str(parts[0].get("text", "")))
    return found.group(1) if found else None
