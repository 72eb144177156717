"""The site's HTML pages. Every value that comes from data, results or configuration passes
through ``html.escape``; links point only inside the site, and no page loads a script or a
style sheet from elsewhere, so the site opens from disk with no network."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from urllib.parse import quote

CSS = """
*{box-sizing:border-box}body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;
color:#1f2328;background:#fff}header{background:#0b3d66;color:#fff;padding:.75rem 1rem}
header a{color:#fff;margin-right:1rem}main{max-width:1400px;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.25rem 0}
h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de;overflow-wrap:anywhere}
p,li{overflow-wrap:anywhere}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.9rem;width:100%}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
td pre{min-width:14rem}td.num{white-space:nowrap}td a{overflow-wrap:anywhere}
table.results td:nth-child(2){min-width:9rem}table.results td:nth-child(3){min-width:14rem}
table.results td:last-child{font-size:.8rem;min-width:12rem}
.failed{color:#b42318;font-weight:600}.ok{color:#1a7f37}.muted{color:#59636e}
code,pre{font-family:ui-monospace,monospace;font-size:.85rem}pre{white-space:pre-wrap;
word-break:break-word;background:#f6f8fa;padding:.5rem}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(280px,100%),1fr));gap:1rem}
.gallery figure{margin:0;border:1px solid #d0d7de;padding:.5rem}.gallery img{width:100%;height:auto}
@media (max-width:600px){body{font-size:14px}main{padding:.5rem}th,td{padding:.2rem .3rem}}
"""

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


def shell(title: str, body: str) -> str:
    """Wrap a page body in the site's HTML document: head, inline style and navigation.

    Parameters
    ----------
    title : str
        The page title (escaped here).
    body : str
        HTML of the page's main content, already escaped.

    Returns
    -------
    str
        A complete HTML document.
    """
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        '<header><nav><a href="index.html">Index</a><a href="gallery.html">Figures</a>'
        '<a href="codebook.html">Codebook</a><a href="data.html">Data</a></nav></header>'
        f"<main>{body}</main></body></html>\n"
    )


def _num(value, digits: int = 3) -> str:
    """A number for a table cell: 3 significant digits, whole thousands written out."""
    if value is None:
        return ""
    if isinstance(value, float) and abs(value) >= 10**digits:
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return escape(str(value))


def _table(headers: Sequence[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cells) + "</tr>" for cells in rows)
    return (
        f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _td(text: str, num: bool = False) -> str:
    return f'<td class="num">{text}</td>' if num else f"<td>{text}</td>"


def _run_href(run_id: str, state: str, suffix: str = ".html") -> str:
    folder = "failed" if state == "failed" else "runs"
    return f"{folder}/{quote(run_id)}{suffix}"


def _run_link(run_id: str, state: str) -> str:
    return f'<a href="{_run_href(run_id, state)}">{escape(run_id)}</a>'


def _data_link(path: str, available: Mapping[str, str]) -> str:
    """A link to a data file when the site ships it, else its name as text."""
    if path in available:
        return f'<a href="data/{quote(path)}">{escape(path)}</a>'
    return f'{escape(path)} <span class="muted">(not coded yet)</span>'


def results_section(rows: list[dict]) -> str:
    """The results table: one row per recorded result, with raw and BH-adjusted p.

    Parameters
    ----------
    rows : list of dict
        From :func:`research.workbook.publish.results_table`.

    Returns
    -------
    str
        HTML of the table and its note, or a note that nothing is recorded yet.
    """
    if not rows:
        return '<p class="muted">No results recorded yet.</p>'
    headers = ["Hypothesis", "Run", "Result", "Estimate", "95% CI", "p", "p (BH)", "n"]
    headers += ["Clusters", "Method"]
    body = []
    for r in rows:
        ci = "" if r.get("ci_low") is None else f"[{_num(r['ci_low'])}, {_num(r['ci_high'])}]"
        body.append(
            [
                _td(escape(r.get("hypothesis") or "")),
                _td(_run_link(r["run"], "ok")),
                _td(escape(r.get("name", ""))),
                _td(_num(r.get("estimate")), True),
                _td(ci, True),
                _td(_num(r.get("p")), True),
                _td(_num(r.get("p_bh")), True),
                _td(_num(r.get("n")), True),
                _td(_num(r.get("n_clusters")), True),
                _td(escape(r.get("method", ""))),
            ]
        )
    return _table(headers, body, "results") + (
        '<p class="muted">p (BH): Benjamini–Hochberg adjusted across every p-value in this '
        "table (the family). Effects are reported with 95% confidence intervals.</p>"
    )


def _error_text(manifest: dict) -> str:
    err = manifest.get("error") or {}
    cell = err.get("cell_index")
    where = f"cell {cell + 1}: " if cell is not None else ""
    text = f"{where}{err.get('ename')}: {err.get('evalue')}"
    return f"<pre>{escape(text)}</pre>"


def status_section(collected: dict) -> str:
    """The runs table: status, time, parameters, and for failed runs the error.

    A run with a rendered notebook links to it (``runs/`` or ``failed/``) and to its
    executed ``.ipynb``; a failed run's notebook is the one kept with its error.

    Parameters
    ----------
    collected : dict
        From :func:`research.workbook.publish.collect`.

    Returns
    -------
    str
        HTML of the table.
    """
    body = []
    for r in collected["runs"]:
        m, state, rid = r["manifest"], r["state"], r["run"].id
        link = escape(rid)
        if r["has_page"]:
            ipynb = _run_href(rid, state, ".ipynb")
            link = f'{_run_link(rid, state)} <a class="muted" href="{ipynb}">.ipynb</a>'
        err_text = _error_text(m) if state == "failed" else ""
        seconds = (m.get("timings") or {}).get("seconds")
        params = escape(json.dumps(m.get("parameters", dict(r["run"].parameters)), sort_keys=True))
        body.append(
            [
                _td(link),
                _td(f'<span class="{escape(state)}">{escape(state)}</span>'),
                _td(_num(seconds), True),
                _td(f"<code>{params}</code>"),
                _td(err_text),
            ]
        )
    return _table(["Run", "Status", "Seconds", "Parameters", "Error"], body, "status")


def _data_section(meta: dict) -> str:
    lic = meta["licence"]
    files = [
        [_td(_data_link(name, meta["checksums"])), _td(f"<code>{escape(sha)}</code>")]
        for name, sha in meta["checksums"].items()
    ]
    return (
        f'<h2 id="data">Data</h2><p>Data cutoff: <strong>{escape(meta["cutoff"])}</strong>. '
        f"Licence: {escape(lic.get('title', lic.get('name', '')))} "
        f"(<code>{escape(lic.get('name', ''))}</code>). "
        '<a href="data.html">Browse the data</a> · <a href="codebook.html">Codebook</a></p>'
        f"<p>How to cite: {escape(meta['citation'])}</p>" + _table(["File", "SHA-256"], files)
    )


def _provenance_section(meta: dict) -> str:
    git, ver = meta["git"], meta["versions"]
    libs = ", ".join(f"{escape(k)} {escape(str(v))}" for k, v in ver["libraries"].items())
    dirty = " (uncommitted changes)" if git.get("dirty") else ""
    return (
        f"<h2>Provenance</h2><p>Commit <code>{escape(str(git.get('commit')))}</code>{dirty}; "
        f"Python {escape(ver['python'])}; research {escape(str(ver['research']))}; {libs}.</p>"
    )


def index_page(meta: dict, collected: dict, rows: list[dict]) -> str:
    """The index: question, hypotheses, results, runs, data and provenance.

    Parameters
    ----------
    meta : dict
        Title, question, hypotheses, cutoff, licence, citation, checksums, git, versions.
    collected : dict
        From :func:`research.workbook.publish.collect`.
    rows : list of dict
        From :func:`research.workbook.publish.results_table`.

    Returns
    -------
    str
        The HTML document.
    """
    hyps = "".join(
        f"<li><strong>{escape(k)}</strong>: {escape(v)}</li>" for k, v in meta["hypotheses"].items()
    )
    body = (
        f"<h1>{escape(meta['title'])}</h1><p>{escape(meta['question'])}</p>"
        f"<h2>Hypotheses</h2><ul>{hyps}</ul>"
        f"<h2>Results</h2>{results_section(rows)}"
        '<p><a href="results.csv">results.csv</a> · <a href="results.json">results.json</a></p>'
        f"<h2>Runs</h2>{status_section(collected)}"
        f"{_data_section(meta)}{_provenance_section(meta)}"
    )
    return shell(meta["title"], body)


def codebook_page(meta: dict, descriptor: dict) -> str:
    """The codebook: every field of every resource in datapackage.json.

    Parameters
    ----------
    meta : dict
        As for :func:`index_page`; ``checksums`` tells which data files the site ships.
    descriptor : dict
        The parsed datapackage.json.

    Returns
    -------
    str
        The HTML document.
    """
    rules = "".join(f"<li>{escape(r)}</li>" for r in descriptor.get("x-codingRules", []))
    parts = [
        f"<h1>Codebook</h1><p>{escape(descriptor.get('description', ''))}</p>",
        f"<p>Cutoff date: {escape(meta['cutoff'])}.</p>",
        f"<h2>Coding rules</h2><ul>{rules}</ul>",
    ]
    headers = ["Field", "Type", "Required", "Allowed values", "Description"]
    for res in descriptor["resources"]:
        rows = []
        for f in res["schema"]["fields"]:
            c = f.get("constraints", {})
            allowed = ", ".join(str(v) for v in (c.get("enum") or f.get("x-itemEnum") or []))
            rows.append(
                [
                    _td(f"<code>{escape(f['name'])}</code>"),
                    _td(escape(f["type"])),
                    _td("yes" if c.get("required") else ""),
                    _td(escape(allowed)),
                    _td(escape(f.get("description", ""))),
                ]
            )
        key = ", ".join(res["schema"].get("primaryKey", []))
        parts.append(
            f'<h2 id="{escape(res["name"])}">{escape(res["name"])} '
            f"({_data_link(res['path'], meta['checksums'])})</h2>"
            f"<p>{escape(res.get('description', ''))} Primary key: <code>{escape(key)}</code>.</p>"
            + _table(headers, rows, "codebook")
        )
    return shell("Codebook", "".join(parts))


def _browse_table(name: str, res: dict, rows: list[dict[str, str]] | None, meta: dict) -> str:
    heading = (
        f'<h2 id="{escape(name)}">{escape(name)} '
        f"({_data_link(res['path'], meta['checksums'])})</h2>"
    )
    if rows is None:
        return heading + '<p class="muted">This table is not coded yet.</p>'
    fields = [f["name"] for f in res["schema"]["fields"]]
    cols = [c for c in BROWSE_COLUMNS[name] if c in fields]
    body = [[_td(escape(row.get(c) or "")) for c in cols] for row in rows]
    note = (
        f'<p class="muted">{len(rows)} rows; columns: {escape(", ".join(cols))}. Every column '
        f'is in the CSV; see the <a href="codebook.html#{quote(name)}">codebook</a>.</p>'
    )
    return heading + note + _table(cols, body, "browse")


def data_page(
    meta: dict, descriptor: dict, tables: Mapping[str, list[dict[str, str]] | None]
) -> str:
    """The data browser: the rows of the main tables as coded, notes included.

    Parameters
    ----------
    meta : dict
        As for :func:`index_page`.
    descriptor : dict
        The parsed datapackage.json.
    tables : mapping of str to list of dict or None
        Rows per table of :data:`BROWSE_COLUMNS`, as strings from the CSV; None when the
        table's CSV is not in the package yet.

    Returns
    -------
    str
        The HTML document. Cells are text: a note that looks like HTML shows as written.
    """
    parts = [
        "<h1>Data</h1>",
        f"<p>The coded data as of the cutoff, {escape(meta['cutoff'])}. "
        'Download the full tables from the <a href="index.html#data">index</a>.</p>',
    ]
    for res in descriptor["resources"]:
        if res["name"] in BROWSE_COLUMNS:
            parts.append(_browse_table(res["name"], res, tables.get(res["name"]), meta))
    return shell(f"{meta['title']}: data", "".join(parts))


def gallery_page(meta: dict, collected: dict) -> str:
    """The figure gallery: every figure of every successful run, linked to its run.

    Parameters
    ----------
    meta : dict
        As for :func:`index_page`.
    collected : dict
        From :func:`research.workbook.publish.collect`, with ``figure_files`` per run.

    Returns
    -------
    str
        The HTML document.
    """
    figs = []
    for r in collected["runs"]:
        for name in r.get("figure_files", []):
            src = f"figures/{quote(name)}"
            caption = f"{_run_link(r['run'].id, 'ok')} · {escape(name.split('--', 1)[-1])}"
            figs.append(
                f'<figure><a href="{src}"><img src="{src}" alt="{escape(name)}" loading="lazy">'
                f"</a><figcaption>{caption}</figcaption></figure>"
            )
    body = "<h1>Figures</h1>" + (
        f'<div class="gallery">{"".join(figs)}</div>'
        if figs
        else '<p class="muted">No figures yet.</p>'
    )
    return shell(f"{meta['title']}: figures", body)
