"""Rich text between Ferry's canonical text and monday.com's formats.

Ferry's text is plain text that may carry Markdown (Trello descriptions are Markdown, Asana
notes and Planner bodies arrive as plain text). monday holds two kinds:

* item descriptions are documents written and exported as Markdown
  (``set_item_description_content`` / ``export_markdown_from_doc``): the text goes as it is;
* updates (comments) are HTML: :func:`text_to_html` writes headings (``#``), bullet and
  numbered lists, links (``[text](url)``), inline code and fenced code blocks, bold
  (``**x**``) and line breaks, escaping everything else; :func:`html_to_text` reads them
  back into the same Markdown, mentions (``<a data-mention-type="User">@Ada</a>``) as their
  text. ``html_to_text(text_to_html(t)) == t`` for text in that subset (the tests check it).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^\d+[.)]\s+(.*)$")
_FENCE = re.compile(r"^```")
_INLINE = re.compile(r"`([^`\n]+)`|\[([^\]\n]+)\]\((https?://[^)\s]+)\)|\*\*([^*\n]+)\*\*")


def _inline(text: str) -> str:
    """Escape ``text`` and turn inline code, links and bold into HTML."""
    out: list[str] = []
    pos = 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[pos : m.start()], quote=False))
        code, label, url, bold = m.groups()
        if code is not None:
            out.append(f"<code>{html.escape(code, quote=False)}</code>")
        elif label is not None:
            out.append(f'<a href="{html.escape(url)}">{html.escape(label, quote=False)}</a>')
        else:
            out.append(f"<strong>{html.escape(bold, quote=False)}</strong>")
        pos = m.end()
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


def text_to_html(text: str) -> str:
    """Ferry text (Markdown subset) as an update body."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[str] = []
    para: list[str] = []
    i = 0

    def flush() -> None:
        if para:
            blocks.append("<p>" + "<br>".join(_inline(p) for p in para) + "</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            flush()
            body: list[str] = []
            i += 1
            while i < len(lines) and not _FENCE.match(lines[i]):
                body.append(lines[i])
                i += 1
            blocks.append(f"<pre><code>{html.escape(chr(10).join(body), quote=False)}</code></pre>")
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            i += 1
            continue
        for pattern, tag in ((_BULLET, "ul"), (_NUMBERED, "ol")):
            if pattern.match(line):
                flush()
                items: list[str] = []
                while i < len(lines) and (m := pattern.match(lines[i])):
                    items.append(f"<li>{_inline(m.group(1))}</li>")
                    i += 1
                blocks.append(f"<{tag}>{''.join(items)}</{tag}>")
                break
        else:
            if line.strip():
                para.append(line)
            else:
                flush()
            i += 1
    flush()
    return "".join(blocks)


class _ToText(HTMLParser):
    BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "pre", "blockquote", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.cur: list[str] = []
        self.lists: list[list[int]] = []  # [kind (0 bullet, 1 numbered), counter]
        self.href: list[str | None] = []
        self.link_text: list[list[str]] = []
        self.pre = 0

    def _end_block(self) -> None:
        text = "".join(self.cur)
        if self.pre == 0:
            text = "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")
        if text.strip():
            self.blocks.append(text)
        self.cur = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in self.BLOCKS and not self.lists:
            self._end_block()
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.cur.append("#" * int(tag[1]) + " ")
        elif tag in ("ul", "ol"):
            self.lists.append([int(tag == "ol"), 0])
        elif tag == "li" and self.lists:
            if self.cur and not "".join(self.cur).endswith("\n"):
                self.cur.append("\n")
            kind = self.lists[-1]
            kind[1] += 1
            self.cur.append(f"{kind[1]}. " if kind[0] else "- ")
        elif tag == "br":
            self.cur.append("\n")
        elif tag == "pre":
            self.pre += 1
            self.cur.append("```\n")
        elif tag == "code" and not self.pre:
            self.cur.append("`")
        elif tag in ("strong", "b"):
            self.cur.append("**")
        elif tag == "a":
            mention = a.get("data-mention-type") or "mention" in (a.get("class") or "")
            self.href.append(None if mention else a.get("href"))
            self.link_text.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            if not self.lists:
                self._end_block()
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self.cur.append("\n```")
            self._end_block()
        elif tag == "code" and not self.pre:
            self.cur.append("`")
        elif tag in ("strong", "b"):
            self.cur.append("**")
        elif tag == "a" and self.href:
            href = self.href.pop()
            label = "".join(self.link_text.pop())
            if href and label != href:
                self.cur.append(f"[{label}]({href})")
            else:
                self.cur.append(label)
        elif tag in self.BLOCKS and not self.lists:
            self._end_block()

    def handle_data(self, data: str) -> None:
        if self.link_text:
            self.link_text[-1].append(data)
            return
        if not self.pre:
            # source line breaks between tags are layout, not text (<br> is the break)
            data = "" if not data.strip() and "\n" in data else re.sub(r"[\r\n]+", " ", data)
        self.cur.append(data)


def html_to_text(body: str) -> str:
    """An update body as Ferry text (Markdown subset); mentions as their text."""
    parser = _ToText()
    parser.feed(body)
    parser.close()
    parser._end_block()
    return "\n\n".join(parser.blocks).strip()
