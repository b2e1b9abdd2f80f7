"""ADF ↔ text (``shared.connectors.jira.adf``): text survives text → ADF → text unchanged,
Jira's own documents come out as the Markdown the other vendors read, and the marker
paragraph is found again. Pure functions: no simulator."""

from __future__ import annotations

from typing import cast

import pytest

from shared.connectors.jira.adf import adf_to_text, marker_of, text_to_adf, with_marker
from shared.connectors.jira.capabilities import JIRA_RATE_LIMIT
from shared.connectors.registry import has_runtime, rate_limit_of

ROUND_TRIP = [
    "",
    "Line one\nLine two",
    "a\n\n\nb",
    "a\n\n\n\nb",
    "trailing\n",
    "\n\nlead",
    "x\n\n",
    "# Title\n\nbody **bold** and *em* and `code` and [link](https://x.y/z) ~~gone~~",
    "- a\n- b\n  - c\n  - d\n- e",
    "3. x\n4. y",
    "1. a\n   not indented enough",
    "```python\nprint(1)\n\nx = 2\n```",
    "before\n\n```\ncode\n```\n\nafter",
    "```\nonly\n```",
    "2 * 3 * 4",
    "a*b*c",
    "snake_case_name",
    "> quoted\n> more",
    "---",
    "- item\n  continued\n- two",
    "**[bold link](https://a.b)**",
    "# not a heading\nbecause a line follows",
    "Tâche ünïcödé 🚀 עברית \u202eevil\u202c",
    'tab\tand "quotes" <tag> & amp',
    "@Grace Hopper said hi",
    "[not a link](javascript:alert(1))",
    "* star item\n* two",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_text_survives_the_round_trip(text: str) -> None:
    doc = text_to_adf(text)
    assert doc["type"] == "doc" and doc["version"] == 1
    assert adf_to_text(doc) == text


def _walk(node: object) -> list[dict[str, object]]:
    if isinstance(node, dict):
        return [node, *[n for child in node.get("content") or [] for n in _walk(child)]]
    return []


def test_markdown_becomes_structure() -> None:
    doc = text_to_adf("## Plan\n\n- one\n  - nested\n2. two\n\n```sh\nls\n```\n\nsee [docs](https://d.example) **now**")
    blocks = [b["type"] for b in doc["content"]]
    assert blocks == ["heading", "paragraph", "codeBlock", "paragraph"]
    assert doc["content"][0]["attrs"] == {"level": 2}
    # "- one / - nested / 2. two" mixes list kinds on one level: kept as text, not guessed
    assert doc["content"][2]["attrs"] == {"language": "sh"}
    marks = {m["type"] for n in _walk(doc) for m in cast(list[dict[str, str]], n.get("marks") or [])}
    assert marks == {"link", "strong"}
    assert all(n.get("text") != "" for n in _walk(doc))  # ADF refuses empty text nodes
    nested = text_to_adf("- one\n  - nested")["content"][0]
    assert nested["type"] == "bulletList"
    assert nested["content"][0]["content"][1]["type"] == "bulletList"


def _para(text: str) -> dict[str, object]:
    return {"type": "paragraph", "content": [{"type": "text", "text": text}]}


def test_jira_documents_read_as_markdown() -> None:
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": "Hi"}]},
            {
                "type": "paragraph",
                "content": [
                    {"type": "mention", "attrs": {"id": "123", "text": "@Ada"}},
                    {"type": "text", "text": " see "},
                    {"type": "inlineCard", "attrs": {"url": "https://x.example/1"}},
                    {"type": "text", "text": " "},
                    {"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "under", "marks": [{"type": "underline"}]},
                ],
            },
            {
                "type": "panel",
                "attrs": {"panelType": "info"},
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "note"}]}],
            },
            {
                "type": "taskList",
                "content": [
                    {"type": "taskItem", "attrs": {"state": "DONE"}, "content": [{"type": "text", "text": "a"}]},
                    {"type": "taskItem", "attrs": {"state": "TODO"}, "content": [{"type": "text", "text": "b"}]},
                ],
            },
            {
                "type": "table",
                "content": [
                    {
                        "type": "tableRow",
                        "content": [
                            {
                                "type": "tableHeader",
                                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "k"}]}],
                            },
                            {
                                "type": "tableCell",
                                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "v"}]}],
                            },
                        ],
                    }
                ],
            },
            {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "x", "type": "file"}}]},
            {
                "type": "orderedList",
                "attrs": {"order": 5},
                "content": [
                    {
                        "type": "listItem",
                        "content": [
                            _para("five"),
                            {"type": "bulletList", "content": [{"type": "listItem", "content": [_para("deep")]}]},
                        ],
                    }
                ],
            },
        ],
    }
    assert adf_to_text(doc) == (
        "### Hi\n\n@Ada see https://x.example/1 😄\nunder\n\nnote\n\n- [x] a\n- [ ] b\n\n| k | v |\n\n5. five\n  - deep"
    )
    assert adf_to_text(None) == ""


def test_marker_paragraph() -> None:
    doc = with_marker("text", "ferry:abc:task:0123")
    assert marker_of(doc) == "ferry:abc:task:0123"
    assert adf_to_text(doc) == "text\n\n[ferry:abc:task:0123]"
    assert marker_of(with_marker("", "ferry:abc:task:1")) == "ferry:abc:task:1"
    assert marker_of(text_to_adf("[ferry:abc:task:1] and more")) is None
    assert marker_of(text_to_adf("no marker")) is None and marker_of(None) is None


def test_runtime_is_registered() -> None:
    assert has_runtime("jira")
    assert rate_limit_of("jira") == JIRA_RATE_LIMIT


def test_a_marker_alone_reads_back_as_no_text() -> None:
    """An issue or comment written with an empty text holds only the marker paragraph."""
    from shared.connectors.jira.mapping import text_without_marker

    assert text_without_marker(with_marker("", "ferry:abc:task:1")) == ""
    assert text_without_marker(with_marker("Body\n\nmore", "ferry:abc:task:1")) == "Body\n\nmore"
    assert text_without_marker(text_to_adf("[ferry:abc:task:1] and more")) == "[ferry:abc:task:1] and more"
    assert text_without_marker(None) == ""
