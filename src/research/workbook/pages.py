"""The site's HTML pages, rendered from the Jinja2 templates in ``templates/site/`` with
autoescaping on: every value that comes from data, results or configuration is escaped by
the template engine, and no HTML is built in Python. Links point only inside the site
(except the cited source pages), and no page loads a script or a style sheet from elsewhere,
so the site opens from disk with no network.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, Undefined, select_autoescape
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates" / "site"

#: The columns the data browser shows per table; the full tables are in data/ for download.
BROWSE_COLUMNS: dict[str, tuple[str, ...]] = {
    "exchanges": (
        "exchange_id",
        "name",
        "side_a",
        "side_b",
        "exchange_date",
        "released_by_a",
        "released_by_b",
        "mediators",
        "notes",
    ),
    "parties": ("party_id", "name", "kind", "sponsor", "notes"),
}


def num(value, digits: int = 3) -> str:
    """A number for a table cell: 3 significant digits, whole thousands written out.

    Examples
    --------
    >>> num(0.012345), num(12345.6), num(None), num(7)
    ('0.0123', '12,346', '', '7')
    """
    if value is None or value == "" or isinstance(value, Undefined):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and abs(value) >= 10**digits:
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def thousands(value) -> str:
    """A count as coded, with thousands separators ('8200' -> '8,200')."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters["num"] = num
    env.filters["thousands"] = thousands
    return env


def render(template: str, **context) -> str:
    """Render one template of ``templates/site/`` (autoescaped)."""
    context.setdefault("root", "")
    context.setdefault("interactive", False)
    return environment().get_template(template).render(**context)


def _error_text(manifest: dict) -> str:
    err = manifest.get("error") or {}
    cell = err.get("cell_index")
    where = f"cell {cell + 1}: " if cell is not None else ""
    return f"{where}{err.get('ename')}: {err.get('evalue')}"


def index_page(meta: dict, collected: dict, rows: list[dict], findings=(), forest=None) -> str:
    """The index: what was found (one sentence and a verdict per hypothesis, the forest
    plot), then every result, the runs, the data and the provenance.

    Parameters
    ----------
    meta : dict
        Title, question, hypotheses, version, cutoff, licence, citation, checksums, git,
        versions.
    collected : dict
        From :func:`research.workbook.publish.collect`.
    rows : list of dict
        From :func:`research.workbook.publish.results_table`.
    findings : list of dict
        From :func:`research.workbook.publish.findings`.
    forest : str, optional
        The forest plot's path in the site.
    """
    for r in collected["runs"]:
        params = r["manifest"].get("parameters", dict(r["run"].parameters))
        r["params_json"] = json.dumps(params, sort_keys=True)
        r["error_text"] = _error_text(r["manifest"]) if r["state"] == "failed" else ""
    return render(
        "index.html.j2",
        title=meta["title"],
        meta=meta,
        collected=collected,
        rows=rows,
        findings=list(findings),
        forest=forest,
        interactive=bool(rows),
    )


def codebook_page(meta: dict, descriptor: dict) -> str:
    """The codebook: every field of every resource in datapackage.json."""
    return render("codebook.html.j2", title="Codebook", meta=meta, descriptor=descriptor)


def data_page(
    meta: dict, descriptor: dict, tables: Mapping[str, list[dict[str, str]] | None]
) -> str:
    """The data browser: the rows of the main tables as coded, notes included.

    Cells are text: a note that looks like HTML shows as written.
    """
    shown = []
    for res in descriptor["resources"]:
        if res["name"] in BROWSE_COLUMNS:
            fields = [f["name"] for f in res["schema"]["fields"]]
            cols = [c for c in BROWSE_COLUMNS[res["name"]] if c in fields]
            shown.append(
                {
                    "name": res["name"],
                    "path": res["path"],
                    "cols": cols,
                    "rows": tables.get(res["name"]),
                }
            )
    return render("data.html.j2", title=f"{meta['title']}: data", meta=meta, tables=shown)


def gallery_page(meta: dict, collected: dict, site_figures=()) -> str:
    """The figure gallery: the data's figures, then every figure of every successful run."""
    figures = [
        {"file": name, "run": r["run"].id, "name": name.split("--", 1)[-1]}
        for r in collected["runs"]
        for name in r.get("figure_files", [])
    ]
    return render(
        "gallery.html.j2",
        title=f"{meta['title']}: figures",
        meta=meta,
        figures=figures,
        site_figures=list(site_figures),
    )


def deals_page(meta: dict, deals: list[dict]) -> str:
    """The deals index: sortable and searchable (DataTables from the itables package)."""
    return render(
        "deals.html.j2", title=f"{meta['title']}: deals", meta=meta, deals=deals, interactive=True
    )


def deal_page(meta: dict, deal: dict) -> str:
    """One deal: tranches, parties and alliances, mediators, spells, and the evidence."""
    return render("deal.html.j2", title=deal["name"], meta=meta, d=deal, root="../")


def captivities_page(meta: dict, spells: list[dict]) -> str:
    """The captivity spells index."""
    return render(
        "captivities.html.j2",
        title=f"{meta['title']}: captivity spells",
        meta=meta,
        spells=spells,
        interactive=True,
    )


def captivity_page(meta: dict, spell: dict) -> str:
    """One captivity spell with the evidence behind its values."""
    return render("captivity.html.j2", title=spell["name"], meta=meta, c=spell, root="../")


def downloads_page(meta: dict, **context) -> str:
    """Every table in every format, the state-year file, the citation and the changelog."""
    return render("downloads.html.j2", title=f"{meta['title']}: downloads", meta=meta, **context)


def changelog_html(text: str) -> Markup:
    """The data changelog (Markdown) as HTML; raw HTML in it is escaped, not passed on."""
    from markdown_it import MarkdownIt

    return Markup(MarkdownIt("commonmark", {"html": False}).render(text))


def datatables_js() -> str:
    """The site's ``assets/datatables.js``: the DataTables bundle that ships in the itables
    package (its offline mode), embedded so it loads from file:// with no network."""
    import itables

    bundle = Path(itables.__file__).parent / "html" / "dt_bundle.js"
    js = base64.b64encode(bundle.read_bytes()).decode("ascii")
    css = base64.b64encode(bundle.with_suffix(".css").read_bytes()).decode("ascii")
    env = environment()
    template = env.get_template("datatables.js.j2")
    return template.render(js_b64=js, css_b64=css, version=itables.__version__)
