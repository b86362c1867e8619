"""The report process: execute one notebook with papermill, export it to HTML, write the result.

``ReportRunner`` starts ``python -m resync_ext.reports.execute SPEC.json`` for each run, so the
kernel, papermill and nbconvert never share the server's process or event loop. The spec names
the template, the output paths and the parameters; secrets (the server token, TWS credentials)
arrive in the environment instead, so they are never written into the saved notebook. The result
file says whether the run succeeded and, if not, which cell failed and with what error.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from resync_ext.redact import mask_secrets

# The lab template without the scripts it would fetch from a CDN (require.js, MathJax,
# Mermaid): a report is static, viewed offline, and served with a CSP that blocks scripts.
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TRACEBACK_LINES = 12


def _clean(text: str, limit: int = 2000) -> str:
    return mask_secrets(_ANSI.sub("", text))[:limit]


def _failing_cell(output: Path) -> tuple[int | None, str]:
    """Return the index and source of the first cell with an error output in ``output``."""
    try:
        cells = json.loads(output.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, LookupError):
        return None, ""
    for index, cell in enumerate(cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs") or []):
            return index, "".join(cell.get("source", ""))
    return None, ""


def _cell_error(exc: Any, output: Path) -> dict[str, Any]:
    """Describe the failing cell of a papermill execution error."""
    # papermill's cell_index counts the error banner it inserts: find the cell in the output.
    index, source = _failing_cell(output)
    traceback = [_clean(line, 400) for line in getattr(exc, "traceback", None) or []]
    return {
        "cell": index if index is not None else getattr(exc, "cell_index", None),
        "execution_count": getattr(exc, "exec_count", None),
        "ename": str(getattr(exc, "ename", type(exc).__name__)),
        "evalue": _clean(str(getattr(exc, "evalue", exc))),
        "source": _clean(source, 600),
        "traceback": "\n".join(traceback)[-4000:].splitlines()[-_TRACEBACK_LINES:],
    }


def export_html(notebook: Path, html: Path, *, title: str, show_code: bool) -> None:
    """Write ``notebook`` as a self-contained HTML page (no script fetched from the network)."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"resync_report.html.j2": _TEMPLATE})],
        template_file="resync_report.html.j2",
        exclude_input=not show_code,
        exclude_input_prompt=not show_code,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_filename(str(notebook), resources={"metadata": {"name": title}})
    tmp = html.with_suffix(".html.tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, html)


def execute(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the notebook of ``spec``; return the result (``ok``, ``error``, ``seconds``)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output = Path(spec["output"])
    t0 = time.perf_counter()
    error: dict[str, Any] | None = None
    try:
        papermill.execute_notebook(
            spec["input"],
            str(output),
            parameters=spec.get("parameters") or {},
            kernel_name=spec.get("kernel", "python3"),
            progress_bar=False,
            log_output=False,
            execution_timeout=spec.get("cell_timeout"),
            cwd=spec.get("cwd"),
        )
    except PapermillExecutionError as e:
        error = _cell_error(e, output)
    except Exception as e:  # kernel death, cell timeout, unreadable template: all one failure
        error = {"cell": None, "ename": type(e).__name__, "evalue": _clean(str(e))}
    seconds = time.perf_counter() - t0
    html_error = None
    if output.is_file() and spec.get("html"):
        try:
            export_html(
                output,
                Path(spec["html"]),
                title=spec.get("title", output.stem),
                show_code=bool(spec.get("show_code")),
            )
        except Exception as e:  # the executed notebook is still there to read
            html_error = f"{type(e).__name__}: {_clean(str(e), 400)}"
    return {"ok": error is None, "error": error, "html_error": html_error, "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    """Execute the spec file named on the command line; exit 0 when the notebook succeeded."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m resync_ext.reports.execute SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    result = execute(spec)
    out = Path(spec["result"])
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1), encoding="utf-8")
    os.replace(tmp, out)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
