"""Spec text in the generated CHANGELOG.md and README.md reads as the text itself, never as
Markdown or HTML: the `markdown` and `markdown_code` filters of generator/render.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from markdown_it import MarkdownIt

from generator.build import build_api
from generator.loader import load_spec
from generator.model import Api
from generator.render import OUTPUTS, environment, markdown, markdown_code, render_output

MINI = Path(__file__).resolve().parent / "fixtures" / "mini.yaml"
HOSTILE_TITLE = (
    "[click me](https://evil.example/x) <img src=x onerror=alert(1)> `rm -rf` **loud**\n"
    "# Not a heading\n"
    "<script>alert(1)</script> &copy; $x$ ~~gone~~ _slanted_ a|b"
)
HOSTILE_CHANGE = (
    "See [the docs](https://evil.example) and <b>this</b>; run `x`. "
    + "word " * 17
    + "\n# heading at a line start\n- a list item\n1. a numbered item\n> a quote"
)
COMMONMARK = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def api_with(tmp_path: Path, **note: Any) -> Api:
    doc = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    doc["x-postmark-release-notes"].append({"date": "2026-03-05", **note})
    doc["info"]["title"] = "Postmark <i>API</i> [x](https://evil.example)"
    path = tmp_path / "spec" / "postmark.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return build_api(load_spec(path))


def rendered(api: Api, path: str) -> str:
    output = next(o for o in OUTPUTS if o.path == path)
    return render_output(environment(), api, output).decode("utf-8")


def tokens(text: str) -> list[str]:
    """Every inline and block token type a CommonMark renderer makes of the text."""
    found = []
    for token in COMMONMARK.parse(text):
        found.append(token.type)
        found.extend(child.type for child in token.children or [])
    return found


def test_a_hostile_release_note_title_is_one_plain_heading(tmp_path: Path) -> None:
    api = api_with(tmp_path, title=HOSTILE_TITLE, changes=[HOSTILE_CHANGE])
    text = rendered(api, "CHANGELOG.md")
    note = text.split("## 2026-03-05: ", 1)[1].split("\n## ", 1)[0]
    heading, body = note.split("\n", 1)
    assert heading == (
        "\\[click me\\](https://evil.example/x) &lt;img src=x onerror=alert(1)&gt; \\`rm -rf\\` "
        "\\*\\*loud\\*\\* \\# Not a heading &lt;script&gt;alert(1)&lt;/script&gt; &amp;copy; "
        "\\$x\\$ \\~\\~gone\\~\\~ \\_slanted\\_ a\\|b"
    )
    html = COMMONMARK.render("## " + heading)
    assert html == (
        "<h2>[click me](https://evil.example/x) &lt;img src=x onerror=alert(1)&gt; `rm -rf` "
        "**loud** # Not a heading &lt;script&gt;alert(1)&lt;/script&gt; &amp;copy; $x$ "
        "~~gone~~ _slanted_ a|b</h2>\n"
    )
    # The change is one list item of plain text, however it was wrapped.
    kinds = tokens(body)
    assert kinds.count("list_item_open") == 1
    for kind in ("link_open", "html_inline", "html_block", "code_inline", "heading_open",
                 "blockquote_open", "ordered_list_open", "s_open", "em_open", "strong_open"):  # fmt: skip
        assert kind not in kinds, kind
    item = COMMONMARK.render(body)
    assert "# heading at a line start - a list item 1. a numbered item &gt; a quote" in " ".join(
        item.split()
    )


def test_the_titles_in_the_readme_are_escaped_too(tmp_path: Path) -> None:
    api = api_with(tmp_path, title="t", changes=["c"])
    for path in ("README.md", "CHANGELOG.md"):
        text = rendered(api, path)
        assert "Postmark &lt;i&gt;API&lt;/i&gt; \\[x\\](https://evil.example)" in text, path
        assert "<i>" not in COMMONMARK.render(text), path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- item", "\\- item"),
        ("+ item", "\\+ item"),
        ("12. item", "12\\. item"),
        ("3) item", "3\\) item"),
        ("===", "\\==="),
        ("2026.11.30", "2026.11.30"),
        ("message_streams", "message_streams"),
        ("a\x1b[31mb", "a\ufffd\\[31mb"),
    ],
)
def test_markdown_escapes_what_would_start_a_block_or_markup(text: str, expected: str) -> None:
    assert markdown(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /email", "`GET /email`"),
        ("a`b", "``a`b``"),
        ("`x", "`` `x ``"),
        ("a``b", "```a``b```"),
    ],
)
def test_markdown_code_fences_past_every_backtick(text: str, expected: str) -> None:
    assert markdown_code(text) == expected
    assert COMMONMARK.renderInline(expected) == f"<code>{text}</code>"
