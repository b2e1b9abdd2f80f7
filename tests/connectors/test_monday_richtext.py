"""monday.com rich text: Ferry's Markdown subset ↔ update HTML, both ways (pure)."""

from __future__ import annotations

import pytest

from shared.connectors.monday.richtext import html_to_text, text_to_html

ROUND_TRIP = [
    "Line one\nLine two",
    "Ada <ada@example.com> wrote on 2025-05-01 09:30 UTC:\n\nUn commentaire 💬",
    "# Title\n\n## Sub *title*\n\nA [link](https://example.com/x?a=1&b=2), `code <b>` and "
    "**bold**.\n\n- one\n- two\n\n1. first\n2. second\n\n```\nx < y && z\n  indented\n```",
    'tab\tand "quotes" <tag> & amp',
    "a_b_c *star* 5 * 3 <script>alert(1)</script>",
    "RTL \u202eevil\u202c 日本語 👩‍💻",
    "[ferry:abc12345:comment:0123456789abcdef]",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_text_survives_html(text: str) -> None:
    assert html_to_text(text_to_html(text)) == text


def test_markup_is_escaped_not_interpreted() -> None:
    out = text_to_html("<script>alert(1)</script> & <b>x</b>")
    assert "<script>" not in out and "<b>" not in out
    assert "&lt;script&gt;" in out


def test_structures_become_html() -> None:
    out = text_to_html("# H\n\n- a\n- b\n\n2. x\n\n[t](https://e.org)\n\n```\nc\n```")
    assert out == (
        "<h1>H</h1><ul><li>a</li><li>b</li></ul><ol><li>x</li></ol>"
        '<p><a href="https://e.org">t</a></p><pre><code>c</code></pre>'
    )


def test_monday_html_reads_as_markdown() -> None:
    body = (
        '<div><h2>Plan</h2><p>Ask <a class="user_mention_editor router" '
        'href="https://x.monday.com/users/1" data-mention-type="User" data-mention-id="1">'
        "@Ada Lovelace</a> about <b>it</b></p>\n<ol><li>one</li>\n<li>two</li></ol>"
        '<p>see https://e.org/raw and <a href="https://e.org/doc">the doc</a><br>next</p>'
        "</div>"
    )
    assert html_to_text(body) == (
        "## Plan\n\nAsk @Ada Lovelace about **it**\n\n1. one\n2. two"
        "\n\nsee https://e.org/raw and [the doc](https://e.org/doc)"
        "\nnext"
    )


def test_a_link_whose_text_is_its_url_stays_a_bare_url() -> None:
    assert html_to_text('<p><a href="https://e.org">https://e.org</a></p>') == "https://e.org"
