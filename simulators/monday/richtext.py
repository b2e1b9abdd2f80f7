"""Plain text of an update's HTML body (``Update.text_body``)."""

from __future__ import annotations

from html.parser import HTMLParser


class _Plain(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "ul", "ol", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS and self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_plain(body: str) -> str:
    parser = _Plain()
    parser.feed(body)
    parser.close()
    return "".join(parser.parts).strip()
