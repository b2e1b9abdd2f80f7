"""Azure DevOps rich text: HTML fields ↔ Ferry's canonical (Markdown) text."""

from __future__ import annotations

import pytest

from shared.connectors.azure_devops.mapping import (
    adapt_task,
    html_with_footer,
    label_id,
    position_of,
    state_for_section,
    text_without_marker,
)
from shared.connectors.azure_devops.richtext import html_to_markdown, markdown_to_html
from shared.connectors.kit.markers import find_marker, without_footer
from shared.contract.model import Task

ROUND_TRIPS = [
    "Line one\nLine two",
    "First paragraph.\n\nSecond paragraph.",
    "# Title\n\n## Sub\n\nText with **bold**, *italic*, `code` and [a link](https://x.y/z?a=1&b=2).",
    "- one\n- two\n  - nested\n    - deeper\n- three",
    "1. first\n2. second\n3. third",
    "```\nprint(\"<html> & 'quotes'\")\n    indented\n```",
    "> quoted\n> lines",
    "Tâche ünïcödé 🚀 日本語 עברית \u202eRTL\u202c",
    "a < b && c > d; 2*3*4 snake_case_name",
    "Start date: 2026-01-01\n\nAlso assigned: Ada <ada@example.com>",
    "",
    # whitespace HTML collapses: tabs, runs of spaces, at the start or end of a line
    'tab\tand "quotes" <tag> & amp',
    "two  spaces,   three, a trailing tab\t\n  leading spaces",
    "- item\twith a tab\n- `code  with  spaces`\n\n# Head\ttab\n\n> quoted\ttab",
    "```python\nprint(1)\n\tindented\n```",
]


@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_canonical_text_round_trips(text: str) -> None:
    assert html_to_markdown(markdown_to_html(text)) == text


def test_html_becomes_markdown_with_mentions_as_text() -> None:
    """Tags become Markdown, a mention its text, an image a link, &nbsp; a space."""
    html = (
        "<div><h2>Goal</h2><p>Ship <b>it</b>&nbsp;now &amp; <i>then</i></p>"
        '<ul><li>first</li><li>see <a href="https://example.com/spec">spec</a></li></ul>'
        "<pre><code>x = 1\ny = 2</code></pre>"
        '<p>Ask <a href="#" data-vss-mention="version:2.0,abc">@Ada Lovelace</a>'
        '<br>about <code>inline</code></p><img src="https://example.com/i.png" alt="pic">'
        "</div>"
    )
    assert html_to_markdown(html) == (
        "## Goal\n\nShip **it** now & *then*\n\n- first\n- see "
        "[spec](https://example.com/spec)\n\n```\nx = 1\ny = 2\n```\n\n"
        "Ask @Ada Lovelace\nabout `inline`\n\n[pic](https://example.com/i.png)"
    )


def test_markdown_is_escaped_into_html() -> None:
    out = markdown_to_html('<script>alert(1)</script> & [x](https://a.b/?q="1")')
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert 'href="https://a.b/?q=&quot;1&quot;"' in out


def test_marker_footer_survives_html() -> None:
    marker = "ferry:abc12345:task:0123456789abcdef"
    html = html_with_footer("Some *text*", marker)
    text = html_to_markdown(html)
    assert find_marker(text) == marker
    assert without_footer(text) == "Some *text*"


def test_whitespace_reads_as_a_browser_shows_it() -> None:
    """Collapsed outside pre-wrap and <pre>; &nbsp; is a space that never collapses; a
    code block's language class is the fence's."""
    html = (
        "<p>a \t\n b&nbsp;&nbsp;c <span style='white-space: pre'>d\t \te</span></p>"
        '<pre><code class="hljs language-js">x\t= 1</code></pre>'
    )
    assert html_to_markdown(html) == "a b  c d\t \te\n\n```js\nx\t= 1\n```"


def test_a_marker_alone_reads_as_no_text() -> None:
    marker = "ferry:abc12345:task:0123456789abcdef"
    assert text_without_marker(html_with_footer("", marker)) == ""
    assert text_without_marker(html_with_footer("Kept", marker)) == "Kept"
    assert text_without_marker(f"<p>[{marker}] and more</p>") == f"[{marker}] and more"


def test_a_multi_line_name_is_its_first_line_and_ends_the_description() -> None:
    task = Task(source_id="t", version="1", project_id="p", name="\n  First \r\nsecond", description="Body")
    adapted, notes = adapt_task(task)
    assert isinstance(adapted, Task) and adapted.name == "First"
    assert adapted.description == "Body\n\nFull name: \n  First \nsecond"
    assert [n.code for n in notes] == ["task.name_multiline"]
    # a name the engine cut already has its "Full name:" line: not twice
    cut = task.model_copy(update={"name": "One\ntw…", "description": "Body\n\nFull name: One\ntwo three"})
    adapted, _ = adapt_task(cut)
    assert isinstance(adapted, Task) and adapted.description == cut.description and adapted.name == "One"
    one_line = task.model_copy(update={"name": "One line"})
    assert adapt_task(one_line) == (one_line, [])


def test_tags_are_one_id_whatever_their_case_and_ranks_are_positions() -> None:
    assert label_id("Backend") == label_id(" backend ") == "tag:backend"
    assert label_id("Needs Review") == "tag:needs%20review"
    ranked = {"id": 7, "fields": {"Microsoft.VSTS.Common.StackRank": 2.5}}
    scrum = {"id": 7, "fields": {"Microsoft.VSTS.Common.BacklogPriority": 3}}
    assert position_of(ranked) == 2.5 and position_of(scrum) == 3.0
    assert position_of({"id": 7, "fields": {}}) == 7.0


def test_list_right_after_text_gets_a_blank_line() -> None:
    """The documented normalisation (README): no other change."""
    assert html_to_markdown(markdown_to_html("text\n- item")) == "text\n\n- item"


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("Doing", "Active"),
        ("in   progress", "Active"),
        ("DONE", "Closed"),
        ("Resolved", "Resolved"),
        ("To Do", "New"),
        ("Backlog", "New"),
        ("Ideas for later", None),
    ],
)
def test_sections_that_name_or_mean_a_state(name: str, state: str | None) -> None:
    agile = [
        ("New", "Proposed"),
        ("Active", "InProgress"),
        ("Resolved", "Resolved"),
        ("Closed", "Completed"),
        ("Removed", "Removed"),
    ]
    assert state_for_section(name, agile) == state
