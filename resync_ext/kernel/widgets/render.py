"""HTML fragments shared by the panels: Markdown answers, evidence, verdicts, errors.

Everything that came from a user, a model or TWS is escaped: Markdown is rendered with raw HTML
turned off (a ``<script>`` in an answer or a job log shows as text) and markdown-it's link check
(no ``javascript:`` links). An answer is written by a model that has read engine text, so it is
also an exfiltration path: a Markdown image would be fetched by the browser from any URL (with
whatever the answer put in its query string), and a link invites a click. So links are shown as
text with their target visible, "label (https://target)", images as "[image: alt (url)]", never
loaded; and the HTML is then passed through nh3 (Ammonia) with a short allowlist of formatting
tags and no attributes at all, so that nothing a renderer change lets through survives.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from html import escape
from typing import Any

STATE_COLOURS = {
    "pending": "#b26a00",
    "approved": "#1b7f3b",
    "rejected": "#b00020",
    "ok": "#1b7f3b",
    "suspicious": "#b26a00",
    "incorrect": "#b00020",
}


#: The only tags an answer keeps (formatting); every attribute is dropped.
ALLOWED_TAGS = frozenset(
    {"p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td"}
)


def _link_open(self: Any, tokens: Any, idx: int, options: Any, env: dict[str, Any]) -> str:
    token = tokens[idx]
    # An autolink's label is its target: shown once.
    env.setdefault("resync_links", []).append(
        None if token.markup == "autolink" else str(token.attrGet("href") or "")
    )
    return ""


def _link_close(self: Any, tokens: Any, idx: int, options: Any, env: dict[str, Any]) -> str:
    stack = env.get("resync_links") or [None]
    href = stack.pop()
    return f" ({escape(href)})" if href else ""


def _image(self: Any, tokens: Any, idx: int, options: Any, env: dict[str, Any]) -> str:
    token = tokens[idx]
    alt = "".join(child.content for child in token.children or [])
    return f"[image: {escape(alt)} ({escape(str(token.attrGet('src') or ''))})]"


@functools.cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("js-default", {"html": False, "linkify": False, "typographer": False})
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("image", _image)
    return md


def markdown_html(text: str) -> str:
    """Render Markdown to safe HTML: formatting only, links and images as text, no attribute."""
    import nh3

    html = str(_markdown().render(text or "", {}))
    return str(
        nh3.clean(
            html,
            tags=set(ALLOWED_TAGS),
            clean_content_tags={"script", "style"},
            attributes={},
            url_schemes=set(),
            link_rel=None,
        )
    )


def short(text: Any, limit: int = 160) -> str:
    """One line of at most ``limit`` characters."""
    line = " ".join(str(text if text is not None else "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def args_text(args: Any) -> str:
    """Tool arguments as ``key=value, ...``."""
    if isinstance(args, dict):
        return ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in args.items())
    return "" if args is None else json.dumps(args, default=str)


def badge(label: str, colour_key: str | None = None) -> str:
    """A small coloured label."""
    colour = STATE_COLOURS.get((colour_key or label).lower(), "#555")
    return (
        f'<span style="background:{colour};color:#fff;border-radius:3px;padding:0 5px;'
        f'font-size:85%">{escape(label)}</span>'
    )


def error_html(code: str, message: str) -> str:
    """An error line, shown where the user looks."""
    return (
        '<div class="resync-error" style="color:#b00020;border-left:3px solid #b00020;'
        f'padding-left:6px">⚠ <b>{escape(code)}</b>: {escape(message)}</div>'
    )


def note_html(text: str, colour: str = "#555") -> str:
    """A muted line of plain text."""
    return f'<div style="color:{colour};font-size:90%">{escape(text)}</div>'


def evidence_detail_html(args: Any, summary: Any, ok: bool | None) -> str:
    """The body of one evidence row: the arguments and the tool's short result."""
    state = "running…" if ok is None else ("ok" if ok else "failed")
    return (
        f"<div><b>arguments</b>: <code>{escape(args_text(args)) or '(none)'}</code></div>"
        f"<div><b>result</b> ({state}): {escape(short(summary, 600)) if summary else '—'}</div>"
    )


def evidence_title(tool: str, args: Any, ok: bool | None) -> str:
    """The one-line title of an evidence row (Accordion titles are plain text)."""
    mark = "…" if ok is None else ("✓" if ok else "✗")
    return f"{mark} {tool}({short(args_text(args), 70)})"


def evidence_list_html(evidence: list[Any]) -> str:
    """Evidence of a remembered turn as collapsible rows (review cards)."""
    if not evidence:
        return note_html("No TWS call was made for this answer.")
    rows = []
    for e in evidence:
        e = e if isinstance(e, dict) else {"tool": "?", "summary": e}
        tool = str(e.get("tool", "?"))
        rows.append(
            f"<details><summary><code>{escape(tool)}</code>"
            f"({escape(short(args_text(e.get('args')), 80))})</summary>"
            f"{evidence_detail_html(e.get('args'), e.get('summary'), True)}</details>"
        )
    calls = f"{len(rows)} TWS call{'s' * (len(rows) != 1)}"
    return f"<div><b>Evidence</b> ({calls}){''.join(rows)}</div>"


def context_html(memories: list[dict[str, Any]]) -> str:
    """The past turns the agent was given as context."""
    if not memories:
        return ""
    rows = []
    for m in memories:
        meta = m.get("metadata") or {}
        state = str(meta.get("state") or "?")
        question = short(meta.get("question") or m.get("text"), 120)
        rows.append(
            f"<li>{badge(state, 'approved' if state == 'approved' else 'pending')} "
            f"{escape(question)} — <i>{escape(short(meta.get('answer'), 160))}</i></li>"
        )
    return (
        f"<details><summary>Similar past turns used as context ({len(rows)})</summary>"
        f"<ul>{''.join(rows)}</ul></details>"
    )


_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s")


def one_per_line(text: str) -> str:
    """Keep each line of an answer on its own line in Markdown: the facts are written one per
    line (verdict, cause, what it blocks, seen before), and Markdown would run them together
    into one paragraph. Lines of one list, and of a fenced code block, stay together."""
    lines = text.split("\n")
    out = lines[:1]
    fenced = lines[0].lstrip().startswith("```")
    for before, line in itertools.pairwise(lines):
        fence = line.lstrip().startswith("```")
        keep = fenced or (_ITEM.match(before) and _ITEM.match(line))
        out.append(("\n" if keep or not line.strip() or not before.strip() else "\n\n") + line)
        fenced ^= fence
    return "".join(out)


#: The answer's own spacing: JupyterLab spaces paragraphs and list items for documents (about
#: 27 px a line), which pushed a plan-wide answer past one screen at 1280x1000. The style is the
#: panel's, outside the sanitised answer (whose own style tags nh3 drops).
ANSWER_CSS = (
    "<style>.resync-answer-body p,.resync-answer-body li{margin:2px 0;line-height:1.35}"
    ".resync-answer-body ul,.resync-answer-body ol{margin:2px 0}</style>"
)


def answer_html(text: str) -> str:
    """An answer as the panels show it: one fact per line, sanitised Markdown, spaced for
    reading (the chat turn and the review card alike)."""
    body = markdown_html(one_per_line(text))
    return f'{ANSWER_CSS}<div class="resync-answer-body">{body}</div>'
