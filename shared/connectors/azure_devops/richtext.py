"""Azure DevOps rich text (HTML: ``System.Description``, comments) to and from Ferry's
canonical text, the Markdown subset the other vendors write (Trello descriptions are
Markdown; Asana and Planner plain text reads as Markdown unchanged).

Kept faithfully, both ways: headings (``#``…``######``), paragraphs and line breaks, bullet
and numbered lists (nested by indentation), links, inline code and fenced code blocks, bold
and italic, block quotes. A mention (``<a data-vss-mention=…>@Name</a>``) becomes the text
``@Name``: a mention names an identity of the source organization, which means nothing
elsewhere. Images become links to their source. Anything else keeps its text.

Plain text survives a round trip exactly (``html_to_markdown(markdown_to_html(t)) == t``),
except that runs of three or more newlines collapse to one blank line and a list that
directly follows a line of text gets a blank line before it.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "pre", "blockquote", "table", "tr"}


class _ToMarkdown(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [is_numbered, next number]
        self.links: list[str | None] = []
        self.pre = 0
        self.quote = 0

    # -- helpers ------------------------------------------------------------------------

    def _text(self) -> str:
        return "".join(self.out)

    def _block_break(self) -> None:
        """End the current block: one blank line before what follows (none at the start)."""
        text = self._text().rstrip(" ")
        if not text:
            return
        self.out = [text.rstrip("\n") + "\n\n"]

    def _line_break(self) -> None:
        self.out.append("\n" + ("> " * self.quote))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._block_break()
            self.out.append("#" * int(tag[1]) + " ")
        elif tag in ("p", "div", "blockquote", "table", "tr"):
            if tag == "blockquote":
                self._block_break()
                self.quote += 1
                self.out.append("> " * self.quote)
            elif not self.lists:
                self._block_break()
                if self.quote:
                    self.out.append("> " * self.quote)
        elif tag in ("ul", "ol"):
            if not self.lists:
                self._block_break()
            self.lists.append([1 if tag == "ol" else 0, 1])
        elif tag == "li":
            text = self._text()
            if text and not text.endswith("\n"):
                self.out.append("\n")
            depth = max(0, len(self.lists) - 1)
            current = self.lists[-1] if self.lists else [0, 1]
            bullet = f"{current[1]}. " if current[0] else "- "
            current[1] += 1
            self.out.append("  " * depth + bullet)
        elif tag == "br":
            self._line_break()
        elif tag == "pre":
            self._block_break()
            self.out.append("```\n")
            self.pre += 1
        elif tag == "code" and not self.pre:
            self.out.append("`")
        elif tag in ("b", "strong"):
            self.out.append("**")
        elif tag in ("i", "em"):
            self.out.append("*")
        elif tag == "a":
            if a.get("data-vss-mention") is not None:
                self.links.append(None)  # the mention's text (@Name) stays, as text
            else:
                self.links.append(a.get("href") or "")
                self.out.append("[")
        elif tag == "img":
            src = a.get("src") or ""
            self.out.append(f"[{a.get('alt') or 'image'}]({src})" if src else "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "table"):
            if not self.lists:
                self._block_break()
        elif tag == "tr":
            self.out.append("\n")
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
            self._block_break()
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            if not self.lists:
                self._block_break()
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self.out = [self._text().rstrip("\n") + "\n```"]
            self._block_break()
        elif tag == "code" and not self.pre:
            self.out.append("`")
        elif tag in ("b", "strong"):
            self.out.append("**")
        elif tag in ("i", "em"):
            self.out.append("*")
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href is not None:
                self.out.append(f"]({href})")

    def handle_data(self, data: str) -> None:
        if self.pre:
            self.out.append(data)
            return
        # HTML collapses whitespace; a line break is a <br>, not a newline in the source
        self.out.append(re.sub(r"\s+", " ", data))


def html_to_markdown(content: str | None) -> str:
    """Canonical text of an HTML field (None/empty → "")."""
    if not content:
        return ""
    parser = _ToMarkdown()
    parser.feed(content)
    parser.close()
    text = parser._text()
    lines = [line.rstrip(" ") for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


# --- Markdown → HTML ----------------------------------------------------------------------

_LIST = re.compile(r"^( *)([-*+]|\d+[.)]) (.*)$")
_HEADING = re.compile(r"^(#{1,6}) (.*)$")


def _inline(text: str) -> str:
    """Escape, then code spans, links, bold and italic (code spans are left alone)."""
    parts = re.split(r"(`[^`]+`)", text)
    out: list[str] = []
    for part in parts:
        if len(part) > 1 and part.startswith("`") and part.endswith("`"):
            out.append(f"<code>{html.escape(part[1:-1], quote=False)}</code>")
            continue
        piece = html.escape(part, quote=False)
        piece = re.sub(
            r"\[([^\]]+)\]\(([^)\s]+)\)",
            lambda m: f'<a href="{m.group(2).replace(chr(34), "&quot;")}">{m.group(1)}</a>',
            piece,
        )
        piece = re.sub(r"\*\*(\S(?:.*?\S)?)\*\*", r"<strong>\1</strong>", piece)
        piece = re.sub(r"(?<![*\w])\*(\S(?:.*?\S)?)\*(?![*\w])", r"<em>\1</em>", piece)
        out.append(piece)
    return "".join(out)


def markdown_to_html(text: str) -> str:
    """HTML for an HTML field from canonical text."""
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    para: list[str] = []
    stack: list[tuple[str, int]] = []  # open lists: (tag, indent)
    i = 0

    def flush() -> None:
        if para:
            out.append("<p>" + "<br>".join(_inline(p) for p in para) + "</p>")
            para.clear()

    def close_lists(indent: int = -1) -> None:
        while stack and stack[-1][1] > indent:
            out.append(f"</li></{stack.pop()[0]}>")

    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            close_lists()
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            out.append("<pre><code>" + html.escape("\n".join(body), quote=False) + "</code></pre>")
            i += 1
            continue
        heading = _HEADING.match(line)
        item = _LIST.match(line)
        if heading:
            flush()
            close_lists()
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif item:
            flush()
            indent = len(item.group(1))
            tag = "ol" if item.group(2)[0].isdigit() else "ul"
            close_lists(indent)
            if stack and stack[-1][1] == indent and stack[-1][0] == tag:
                out.append("</li><li>")
            else:
                if stack and stack[-1][1] == indent:  # same level, other kind of list
                    out.append(f"</li></{stack.pop()[0]}>")
                out.append(f"<{tag}><li>")  # a new list, or one nested in the open item
                stack.append((tag, indent))
            out.append(_inline(item.group(3)))
        elif line.startswith("> "):
            flush()
            close_lists()
            quoted: list[str] = []
            while i < len(lines) and lines[i].startswith("> "):
                quoted.append(lines[i][2:])
                i += 1
            out.append("<blockquote>" + "<br>".join(_inline(q) for q in quoted) + "</blockquote>")
            continue
        elif not line.strip():
            flush()
            close_lists()
        else:
            if stack:
                close_lists()
            para.append(line)
        i += 1
    flush()
    close_lists()
    return "".join(out)
