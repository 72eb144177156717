"""Build the static site in outputs/site/: index (question, hypotheses, results with BH-adjusted
p-values, run status, provenance), one page per rendered notebook, a figure gallery, the
codebook generated from datapackage.json, and the data for download.

The site is built in a temporary folder next to it and swapped in, so a failed or interrupted
publish leaves the previous site exactly as it was. Every text that comes from data, results or
configuration is escaped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import tempfile
import tomllib
from collections.abc import Sequence
from html import escape
from pathlib import Path

from .cache import PACKAGE_DIR, tree_hash
from .config import Workbook
from .fsutil import read_json, swap_in
from .pages import BROWSE_COLUMNS, codebook_page, data_page, gallery_page, index_page

SITE_KEY = ".site-key"


def bh_adjust(pvalues: Sequence[float | None]) -> list[float | None]:
    """Benjamini–Hochberg adjusted p-values; None stays None (:func:`research.stats.bh_adjust`
    over the p-values given, with None as a missing value).

    The step-up adjustment of Benjamini & Hochberg (1995): sort the m p-values, take
    ``p_(k) * m / k`` and make it monotone from the largest down, capped at 1. It equals
    ``statsmodels.stats.multitest.multipletests(p, method="fdr_bh")[1]``.

    Parameters
    ----------
    pvalues : sequence of float or None
        The family; None (a result without a p-value) is left out of the family.

    Returns
    -------
    list of float or None
        Adjusted p-values in the order given.

    Examples
    --------
    >>> bh_adjust([0.01, None, 0.04, 0.03])
    [0.03, None, 0.04, 0.04]
    """
    import numpy as np

    from ..stats import bh_adjust as bh  # imported here: only a real publish pays for it

    adjusted = bh(np.array([np.nan if p is None else p for p in pvalues], dtype=float))
    return [None if p is None else float(a) for p, a in zip(pvalues, adjusted, strict=True)]


def collect(workbook: Workbook) -> dict:
    """Gather every run's manifest, results and figures from outputs/.

    A run with a folder in ``failed/`` is failed (its kept notebook and error are shown),
    one with a manifest in ``runs/`` is ok, and any other is "not run".

    Returns
    -------
    dict
        ``{"runs": [...]}``, one dict per run of the workbook, in workbook order.
    """
    runs = []
    for run in workbook.runs:
        ok_dir, failed_dir = workbook.runs_dir / run.id, workbook.failed_dir / run.id
        if failed_dir.exists():
            state, folder = "failed", failed_dir
        elif (ok_dir / "manifest.json").exists():
            state, folder = "ok", ok_dir
        else:
            state, folder = "not run", None
        manifest = read_json(folder / "manifest.json", {}) if folder else {}
        # a failed attempt (a -p override, an edit) never removes the last good results:
        # they stay in the table and gallery while the status shows the failure
        last_good = (ok_dir / "manifest.json").exists()
        results = read_json(ok_dir / "results.json", []) if last_good else []
        figures = sorted((ok_dir / "figures").glob("*.png")) if last_good else []
        runs.append(
            {
                "run": run,
                "state": state,
                "folder": folder,
                "manifest": manifest,
                "results": results,
                "figures": figures,
                "has_page": bool(folder and (folder / "notebook.html").exists()),
                "results_from_last_good": state == "failed" and last_good,
            }
        )
    return {"runs": runs}


def results_table(collected: dict) -> list[dict]:
    """One row per recorded result of the ok runs, with ``p_bh`` adjusted across all rows.

    Returns
    -------
    list of dict
        The fields of results.json plus ``run`` and ``p_bh``.
    """
    rows = []
    for r in collected["runs"]:
        for res in r["results"]:
            rows.append({"hypothesis": res.get("hypothesis", ""), "run": r["run"].id, **res})
    adjusted = bh_adjust([row.get("p") for row in rows])
    for row, adj in zip(rows, adjusted, strict=True):
        row["p_bh"] = None if adj is None else round(adj, 10)
    return rows


def site_key(workbook: Workbook, data_dir: Path) -> str:
    """A hash of everything the site shows: manifests, data, package source, workbook.toml."""
    h = hashlib.sha256()
    for r in workbook.runs:
        for folder in (workbook.runs_dir / r.id, workbook.failed_dir / r.id):
            h.update(str(folder).encode())
            m = folder / "manifest.json"
            h.update(m.read_bytes() if m.exists() else b"-")
    h.update(tree_hash(data_dir, "*").encode())
    h.update(tree_hash(PACKAGE_DIR, "*").encode())
    h.update(workbook.path.read_bytes())
    return h.hexdigest()


def publish(workbook: Workbook, data_dir: Path, force: bool = True) -> Path:
    """Build the site in a temporary folder and swap it in for outputs/site/.

    Parameters
    ----------
    workbook : Workbook
        The parsed workbook.toml.
    data_dir : Path
        The data package folder.
    force : bool
        Rebuild even when nothing the site shows has changed.

    Returns
    -------
    Path
        The site's index.html.

    Raises
    ------
    Exception
        Whatever stopped the build; the previous site is then left exactly as it was.
    """
    key = site_key(workbook, data_dir)
    site = workbook.site_dir
    if not force and (site / SITE_KEY).exists() and (site / SITE_KEY).read_text() == key:
        return site / "index.html"
    workbook.outputs.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".site-", dir=workbook.outputs))
    tmp.chmod(0o755)  # mkdtemp makes it private; the site is for reading
    try:
        _build(tmp, workbook, data_dir)
        (tmp / SITE_KEY).write_text(key)
        swap_in(tmp, site)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return site / "index.html"


def _build(out: Path, workbook: Workbook, data_dir: Path) -> None:
    descriptor = json.loads((data_dir / "datapackage.json").read_text(encoding="utf-8"))
    collected = collect(workbook)
    rows = results_table(collected)
    for sub in ("runs", "failed", "figures", "data"):
        (out / sub).mkdir()
    for r in collected["runs"]:
        if r["has_page"]:
            target = "failed" if r["state"] == "failed" else "runs"
            shutil.copyfile(r["folder"] / "notebook.html", out / target / f"{r['run'].id}.html")
            shutil.copyfile(r["folder"] / "notebook.ipynb", out / target / f"{r['run'].id}.ipynb")
        figs = []
        for fig in r["figures"]:
            dest = out / "figures" / f"{r['run'].id}--{fig.name}"
            shutil.copyfile(fig, dest)
            figs.append(dest.name)
        r["figure_files"] = figs
    for f in sorted(data_dir.iterdir()):
        if f.is_file():
            shutil.copyfile(f, out / "data" / f.name)
    _write_results(out, rows)
    meta = _meta(workbook, descriptor, data_dir)
    (out / "index.html").write_text(index_page(meta, collected, rows), encoding="utf-8")
    (out / "codebook.html").write_text(codebook_page(meta, descriptor), encoding="utf-8")
    (out / "gallery.html").write_text(gallery_page(meta, collected), encoding="utf-8")
    tables = _browse_tables(data_dir, descriptor)
    (out / "data.html").write_text(data_page(meta, descriptor, tables), encoding="utf-8")


def _browse_tables(data_dir: Path, descriptor: dict) -> dict[str, list[dict[str, str]] | None]:
    """The rows of the tables the data browser shows, as strings; None for a missing CSV."""
    tables: dict[str, list[dict[str, str]] | None] = {}
    for res in descriptor["resources"]:
        if res["name"] in BROWSE_COLUMNS:
            path = data_dir / res["path"]
            if not path.is_file():
                tables[res["name"]] = None
                continue
            with path.open(newline="", encoding="utf-8") as fh:
                tables[res["name"]] = list(csv.DictReader(fh))
    return tables


def _write_results(out: Path, rows: list[dict]) -> None:
    cols = [
        "hypothesis",
        "run",
        "name",
        "estimate",
        "ci_low",
        "ci_high",
        "p",
        "p_bh",
        "n",
        "n_clusters",
        "method",
    ]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (out / "results.csv").write_text(buf.getvalue(), encoding="utf-8")
    (out / "results.json").write_text(
        json.dumps([{c: r.get(c) for c in cols} for r in rows], indent=2) + "\n", encoding="utf-8"
    )


def _meta(workbook: Workbook, descriptor: dict, data_dir: Path) -> dict:
    """What the pages show besides runs and results: question, data, provenance."""
    from ..data import file_checksums
    from .provenance import git_state, versions

    wb = tomllib.loads(workbook.path.read_text(encoding="utf-8")).get("workbook", {})
    return {
        "title": workbook.title,
        "question": wb.get("question", ""),
        "hypotheses": wb.get("hypotheses", {}),
        "cutoff": descriptor.get("cutoff_date", ""),
        "licence": descriptor.get("licenses", [{}])[0],
        "citation": descriptor.get("citation", ""),
        "checksums": file_checksums(data_dir),
        "git": git_state(workbook.root),
        "versions": versions(),
        "esc": escape,
    }
