"""Azure DevOps rich text (HTML: ``System.Description``, comments) to and from Ferry's
canonical text, the Markdown subset the other vendors write (Trello descriptions are
Markdown; Asana and Planner plain text reads as Markdown unchanged).

Kept faithfully, both ways: headings (``#``…``######``), paragraphs and line breaks, bullet
and numbered lists (nested by indentation), links, inline code and fenced code blocks, bold
and italic, block quotes. A mention (``<a data-vss-mention=…>@Name</a>``) becomes the text
``@Name``: a mention names an identity of the source organization, which means nothing
elsewhere. Images become links to their source. Anything else keeps its text.

Whitespace: HTML collapses a run of spaces and tabs into one space when it is shown (and
so does this reader), so the writer puts every tab and every run of spaces in a
``<span style="white-space:pre-wrap">`` — the CSS that tells a browser, and this reader, to
keep them as they are. ``&nbsp;`` is a space that HTML never collapses: each one reads as a
space. A fenced code block keeps its language (```` ```python ````) as the class
``language-python`` of its ``<code>``, the HTML convention for it.

Plain text survives a round trip exactly (``html_to_markdown(markdown_to_html(t)) == t``),
except that runs of three or more newlines collapse to one blank line and a list that
directly follows a line of text gets a blank line before it.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "pre", "blockquote", "table", "tr"}
#: stands for a space that must survive the clean-up of trailing spaces (a kept space, an
#: ``&nbsp;``) until the text is finished: a Unicode noncharacter, never meant to be in text
_KEPT_SPACE = "\ufdd0"
#: a ``style`` that keeps spaces and tabs as written (CSS ``white-space: pre`` / ``pre-wrap``)
_KEEPS_SPACES = re.compile(r"white-space\s*:\s*(pre|pre-wrap|break-spaces)\b", re.IGNORECASE)
#: what HTML collapses: ASCII whitespace only (``&nbsp;`` is U+00A0 and never collapses)
_COLLAPSED = re.compile(r"[ \t\n\r\f]+")
#: whitespace the writer must protect: a tab, or two or more spaces and tabs in a row
_TO_KEEP = re.compile(r"[ \t]*\t[ \t]*| {2,}")
_KEEP_STYLE = "white-space:pre-wrap"


class _ToMarkdown(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [is_numbered, next number]
        self.links: list[str | None] = []
        self.pre = 0
        self.quote = 0
        self.spans: list[bool] = []  # per open <span>: whether it keeps its whitespace

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
        if tag == "span":
            self.spans.append(bool(_KEEPS_SPACES.search(a.get("style") or "")))
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
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
        elif tag == "code" and self.pre:
            # <pre><code class="language-python">: the fence's language
            language = next(
                (c[len("language-") :] for c in (a.get("class") or "").split() if c.startswith("language-")), ""
            )
            if language and self.out and self.out[-1] == "```\n":
                self.out[-1] = f"```{language}\n"
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
        if tag == "span":
            if self.spans:
                self.spans.pop()
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "table"):
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
        if any(self.spans):  # white-space: pre-wrap keeps spaces and tabs as written
            self.out.append(data.replace(" ", _KEPT_SPACE).replace("\xa0", _KEPT_SPACE))
            return
        # HTML collapses whitespace; a line break is a <br>, not a newline in the source
        self.out.append(_COLLAPSED.sub(" ", data).replace("\xa0", _KEPT_SPACE))


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
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n").replace(_KEPT_SPACE, " ")


# --- Markdown → HTML ----------------------------------------------------------------------

_LIST = re.compile(r"^( *)([-*+]|\d+[.)]) (.*)$")
_HEADING = re.compile(r"^(#{1,6}) (.*)$")


def _keep_spaces(escaped: str) -> str:
    """Tabs and runs of spaces of escaped text wrapped so that HTML keeps them."""
    return _TO_KEEP.sub(lambda m: f'<span style="{_KEEP_STYLE}">{m.group(0)}</span>', escaped)


def _inline(text: str) -> str:
    """Escape, then code spans, links, bold and italic (code spans are left alone), then the
    whitespace HTML would collapse."""
    parts = re.split(r"(`[^`]+`)", text)
    out: list[str] = []
    for part in parts:
        if len(part) > 1 and part.startswith("`") and part.endswith("`"):
            out.append(f"<code>{_keep_spaces(html.escape(part[1:-1], quote=False))}</code>")
            continue
        piece = html.escape(part, quote=False)
        piece = re.sub(
            r"\[([^\]]+)\]\(([^)\s]+)\)",
            lambda m: f'<a href="{m.group(2).replace(chr(34), "&quot;")}">{m.group(1)}</a>',
            piece,
        )
        piece = re.sub(r"\*\*(\S(?:.*?\S)?)\*\*", r"<strong>\1</strong>", piece)
        piece = re.sub(r"(?<![*\w])\*(\S(?:.*?\S)?)\*(?![*\w])", r"<em>\1</em>", piece)
        # last: the tags made above hold single spaces only, which this leaves alone
        out.append(_keep_spaces(piece))
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
            language = line[3:].strip()
            opening = f'<code class="language-{html.escape(language)}">' if language else "<code>"
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            out.append("<pre>" + opening + html.escape("\n".join(body), quote=False) + "</code></pre>")
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
