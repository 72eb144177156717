"""Render an executed notebook to a self-contained HTML page with nbconvert."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"


def skip_slow_format_checkers() -> None:
    """Importing nbformat imports jsonschema, whose optional ``rfc3987_syntax`` builds a lark
    grammar at import (1-2 s, most of nbconvert's start-up). Nothing here validates IRIs, so
    the engine's processes go without it: jsonschema then just lacks the "iri" format check."""
    if "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]


def render_html(
    notebook: Path, out: Path, run_id: str, parameters: Mapping[str, object], status: str = "ok"
) -> Path:
    """Write ``out`` (HTML) from an executed notebook: images embedded, no external scripts,
    code hidden by default with a button to show it, and the run's parameters on top."""
    skip_slow_format_checkers()
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_template_basedirs=[str(TEMPLATES)],
        template_file=str(TEMPLATES / "research_notebook.html.j2"),
        embed_images=True,
    )
    nb = nbformat.read(notebook, as_version=4)
    resources = {
        "metadata": {"name": run_id},
        "rw_run_id": run_id,
        "rw_status": status,
        "rw_parameters": [(k, json.dumps(v, default=str)) for k, v in parameters.items()],
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    out.write_text(body, encoding="utf-8")
    return out
