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
from pathlib import Path

from .cache import PACKAGE_DIR, tree_hash
from .config import Workbook
from .fsutil import read_json, swap_in
from .pages import (
    BROWSE_COLUMNS,
    captivities_page,
    captivity_page,
    changelog_html,
    codebook_page,
    data_page,
    datatables_js,
    deal_page,
    deals_page,
    downloads_page,
    gallery_page,
    index_page,
)

SITE_KEY = ".site-key"
RESULT_FIELDS = ("name", "estimate", "ci_low", "ci_high", "p", "n", "n_clusters", "method")


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


def confirmatory_family(workbook: Workbook) -> dict[str, dict]:
    """The ``[confirmatory]`` table of workbook.toml: hypothesis -> its pre-specified test.

    Each entry names the run and the exact result name recorded in it; optional keys
    ``direction`` ("below" or "above": where the hypothesis puts the estimate relative to
    the null) and ``null`` (the no-effect value, default 0; 1 for ratios) state the verdict
    rule. A workbook without the table has an empty family.
    """
    wb = tomllib.loads(workbook.path.read_text(encoding="utf-8"))
    family = wb.get("confirmatory", {})
    return {str(h): dict(spec) for h, spec in family.items() if isinstance(spec, dict)}


def results_table(collected: dict, family: dict[str, dict] | None = None) -> list[dict]:
    """One row per recorded result of the ok runs, each marked confirmatory or not.

    ``p_bh`` is the Benjamini–Hochberg adjustment across the confirmatory rows only (one
    pre-specified test per hypothesis, from workbook.toml ``[confirmatory]``); every other
    row (robustness, sweeps, descriptive) has ``p_bh`` None.

    Returns
    -------
    list of dict
        The fields of results.json plus ``run``, ``confirmatory`` (bool), ``family``
        (the hypothesis it is confirmatory for, else "") and ``p_bh``.
    """
    chosen = {(spec.get("run"), spec.get("result")): h for h, spec in (family or {}).items()}
    rows = []
    for r in collected["runs"]:
        for res in r["results"]:
            row = dict.fromkeys(RESULT_FIELDS)
            row.update({"hypothesis": res.get("hypothesis", ""), "run": r["run"].id, **res})
            key = (r["run"].id, res.get("name"))
            row["family"] = chosen.get(key, "")
            row["confirmatory"] = key in chosen
            rows.append(row)
    members = [row for row in rows if row["confirmatory"]]
    adjusted = bh_adjust([row.get("p") for row in members])
    for row in rows:
        row["p_bh"] = None
    for row, adj in zip(members, adjusted, strict=True):
        row["p_bh"] = None if adj is None else round(adj, 10)
    return rows


def verdict(row: dict, spec: dict, alpha: float = 0.05) -> str:
    """The plain verdict for one confirmatory result.

    ``supported`` when the estimate lies on the side of the null the hypothesis predicts
    and the BH-adjusted p is below ``alpha``; ``contradicted`` when it lies on the other
    side with adjusted p below ``alpha``; otherwise ``not distinguishable from no effect``.
    Without a stated ``direction`` a clear effect is ``effect, direction not stated``; a
    recorded result without an estimate is ``not estimable``.

    Examples
    --------
    >>> verdict({"estimate": -0.4, "p_bh": 0.01}, {"direction": "below"})
    'supported'
    >>> verdict({"estimate": 0.7, "p_bh": 0.2}, {"direction": "above", "null": 1})
    'not distinguishable from no effect'
    """
    est, p_bh = row.get("estimate"), row.get("p_bh")
    if est is None:
        return "not estimable"
    if p_bh is None or p_bh >= alpha:
        return "not distinguishable from no effect"
    null = float(spec.get("null", 0.0))
    direction = spec.get("direction")
    if direction not in ("below", "above"):
        return "effect, direction not stated"
    predicted = est < null if direction == "below" else est > null
    return "supported" if predicted else "contradicted"


def findings(collected: dict, rows: list[dict], family: dict[str, dict]) -> list[dict]:
    """Per confirmatory hypothesis: its row and verdict, or why there is none.

    Returns
    -------
    list of dict
        ``hypothesis``, ``spec``, ``row`` (or None), ``verdict`` (or None) and
        ``problem`` (why no row: the run failed, was not run, or did not record it).
    """
    states = {r["run"].id: r["state"] for r in collected["runs"]}
    out = []
    for hyp, spec in family.items():
        run_id, name = spec.get("run"), spec.get("result")
        row = next((r for r in rows if r["run"] == run_id and r.get("name") == name), None)
        problem = ""
        if row is None:
            state = states.get(run_id)
            if state is None:
                problem = f"run {run_id!r} is not in workbook.toml"
            elif state == "failed":
                problem = f"run {run_id!r} failed, so result {name!r} is missing"
            elif state == "not run":
                problem = f"run {run_id!r} has not been run yet"
            else:
                problem = f"run {run_id!r} did not record a result named {name!r}"
        out.append(
            {
                "hypothesis": hyp,
                "spec": spec,
                "row": row,
                "run_state": states.get(run_id),
                "verdict": verdict(row, spec) if row else None,
                "problem": problem,
            }
        )
    return out


def site_key(workbook: Workbook, data_dir: Path) -> str:
    """A hash of everything the site shows: manifests, data, package source (templates
    included), workbook.toml and CITATION.cff."""
    h = hashlib.sha256()
    for r in workbook.runs:
        for folder in (workbook.runs_dir / r.id, workbook.failed_dir / r.id):
            h.update(str(folder).encode())
            m = folder / "manifest.json"
            h.update(m.read_bytes() if m.exists() else b"-")
    h.update(tree_hash(data_dir, "*").encode())
    h.update(tree_hash(PACKAGE_DIR, "*").encode())
    h.update(workbook.path.read_bytes())
    cff = workbook.root / "CITATION.cff"  # offered for download
    h.update(cff.read_bytes() if cff.is_file() else b"-")
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
    from . import cases as case_data
    from . import sitefigures

    descriptor = json.loads((data_dir / "datapackage.json").read_text(encoding="utf-8"))
    collected = collect(workbook)
    family = confirmatory_family(workbook)
    rows = results_table(collected, family)
    found = findings(collected, rows, family)
    for sub in ("runs", "failed", "figures", "data", "deals", "captivities", "assets", "downloads"):
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
    (out / "assets" / "datatables.js").write_text(datatables_js(), encoding="utf-8")

    forest = sitefigures.forest(found, out / "figures" / "site--confirmatory-forest.png")
    forest_src = f"figures/{forest.name}" if forest else None
    (out / "index.html").write_text(
        index_page(meta, collected, rows, found, forest_src), encoding="utf-8"
    )
    (out / "codebook.html").write_text(codebook_page(meta, descriptor), encoding="utf-8")

    cs = case_data.Cases(data_dir)
    site_figures = []
    for name, draw, alt in (
        (
            "timeline",
            sitefigures.timeline,
            "Every exchange by date and dyad, sized by persons released",
        ),
        ("regions", sitefigures.regions, "Deals and persons released by region of the dispute"),
    ):
        if draw(cs, out / "figures" / f"site--{name}.png"):
            site_figures.append({"src": f"figures/site--{name}.png", "alt": alt})
    (out / "gallery.html").write_text(gallery_page(meta, collected, site_figures), encoding="utf-8")
    tables = _browse_tables(data_dir, descriptor)
    (out / "data.html").write_text(data_page(meta, descriptor, tables), encoding="utf-8")

    deal_ids = cs.deal_ids()
    (out / "deals.html").write_text(
        deals_page(meta, [cs.summary(d) for d in deal_ids]), encoding="utf-8"
    )
    for deal_id in deal_ids:
        deal = cs.deal(deal_id)
        (out / "deals" / f"{deal['slug']}.html").write_text(deal_page(meta, deal), encoding="utf-8")
    spells = cs.captivity_ids()
    (out / "captivities.html").write_text(
        captivities_page(meta, [cs.captivity_summary(c) for c in spells]), encoding="utf-8"
    )
    for cid in spells:
        spell = cs.captivity(cid)
        (out / "captivities" / f"{spell['slug']}.html").write_text(
            captivity_page(meta, spell), encoding="utf-8"
        )
    _write_downloads(out, workbook, data_dir, descriptor, meta)


def _write_downloads(out: Path, workbook: Workbook, data_dir: Path, descriptor: dict, meta: dict):
    from . import downloads as dl

    ds = dl.load_available(data_dir)
    files = dl.write_tables(ds, out / "downloads")
    if {"parties", "exchanges", "alliance_members"} <= set(ds.tables):
        state_files, missing = dl.write_state_year(ds, out / "downloads")
    else:
        state_files, missing = [], []
    cite = dl.write_citation(descriptor, workbook.root, out / "downloads")
    tables = []
    for res in descriptor["resources"]:
        found = {f.fmt: f.path for f in files if f.table == res["name"]}
        if (data_dir / res["path"]).is_file():
            found["csv"] = f"data/{res['path']}"
        tables.append({"name": res["name"], "files": found})
    frame_years = _state_year_span(out / "downloads" / "state_year" / "state_year.csv")

    changelog = data_dir / "CHANGELOG.md"
    page = downloads_page(
        meta,
        tables=tables,
        state_year={"files": state_files, "missing": missing, **frame_years},
        bibtex=(out / "downloads" / "dataset.bib").read_text(encoding="utf-8"),
        has_cff=any(f.fmt == "cff" for f in cite),
        changelog=changelog_html(changelog.read_text(encoding="utf-8"))
        if changelog.is_file()
        else "",
    )
    (out / "downloads.html").write_text(page, encoding="utf-8")


def _state_year_span(path: Path) -> dict:
    if not path.is_file():
        return {"first": "", "last": ""}
    with path.open(newline="", encoding="utf-8") as fh:
        years = [int(r["year"]) for r in csv.DictReader(fh)]
    return {"first": min(years) if years else "", "last": max(years) if years else ""}


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
        "confirmatory",
        "family",
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
        "version": descriptor.get("version", ""),
        "question": wb.get("question", ""),
        "hypotheses": wb.get("hypotheses", {}),
        "cutoff": descriptor.get("cutoff_date", ""),
        "licence": descriptor.get("licenses", [{}])[0],
        "citation": descriptor.get("citation", ""),
        "checksums": file_checksums(data_dir),
        "git": git_state(workbook.root),
        "versions": versions(),
    }
