"""publish: the site from run outputs, built aside and swapped in atomically.

Run folders are written here by hand in the layout the worker leaves (manifest.json,
results.json, notebook.html/.ipynb, figures/), so these tests need no kernel.
"""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from statsmodels.stats.multitest import multipletests

from research.workbook import publish as pub
from research.workbook.config import load_workbook

RUNS = """
[[run]]
id = "alpha"
notebook = "notebooks/ok.ipynb"
hypothesis = "H0"

[[run]]
id = "beta"
notebook = "notebooks/ok.ipynb"
parameters = { n = 7 }

[[run]]
id = "broken"
notebook = "notebooks/fail.ipynb"

[[run]]
id = "never"
notebook = "notebooks/ok.ipynb"

[confirmatory]
H1 = { run = "alpha", result = "mean", direction = "below" }
H2 = { run = "beta", result = "tie", direction = "above", null = 1 }
H3 = { run = "beta", result = "big", direction = "above" }
H4 = { run = "broken", result = "gap" }
H5 = { run = "never", result = "gap" }
H6 = { run = "alpha", result = "absent" }
"""
RESULTS = {
    "alpha": [("mean", 0.01), ("spread", 0.04), ("no_test", None)],
    "beta": [("mean", 0.03), ("tie", 0.02), ("big", 0.9)],
}
ESTIMATES = {"mean": -0.5, "tie": 0.8, "big": 2.0}
CONFIRMATORY = {("alpha", "mean"): "H1", ("beta", "tie"): "H2", ("beta", "big"): "H3"}
ERROR = {"cell_index": 3, "ename": "ValueError", "evalue": "bad <value> & more"}


def _write(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = obj if isinstance(obj, str) else json.dumps(obj, indent=2)
    path.write_text(text, encoding="utf-8")


def _run_folder(folder: Path, run_id: str, status: str, error: dict | None = None) -> None:
    manifest = {"run_id": run_id, "status": status, "error": error, "parameters": {}}
    manifest["timings"] = {"seconds": 1.5}
    _write(folder / "manifest.json", manifest)
    _write(folder / "notebook.html", f"<!DOCTYPE html><title>{run_id}</title><p>{status}</p>")
    _write(folder / "notebook.ipynb", {"cells": [], "metadata": {}, "nbformat": 4})


@pytest.fixture
def workbook(project_factory):
    """A fixture workbook whose outputs hold two ok runs, one failed run and one never run."""
    wb = load_workbook(project_factory(RUNS) / "workbook.toml")
    for run_id, results in RESULTS.items():
        folder = wb.runs_dir / run_id
        _run_folder(folder, run_id, "ok")
        rows = [
            {"name": n, "estimate": ESTIMATES.get(n, 1.0), "p": p, "hypothesis": "H0", "n": 40}
            for n, p in results
        ]
        _write(folder / "results.json", rows)
        (folder / "figures").mkdir()
        (folder / "figures" / "fig.png").write_bytes(b"\x89PNG fixture")
    _run_folder(wb.failed_dir / "broken", "broken", "failed", ERROR)
    return wb


def _publish(wb, **kw) -> Path:
    return pub.publish(wb, wb.root / "data", **kw).parent


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


class _Tables(HTMLParser):
    """Rows of the tables of one class: per cell its text and the hrefs in it."""

    def __init__(self, cls: str):
        super().__init__()
        self.cls, self.inside, self.rows = cls, False, []
        self.cell: list | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.inside = self.cls in (attrs.get("class") or "").split()
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = ["", []]
            self.rows[-1].append(self.cell)
        elif self.cell is not None and tag == "a":
            self.cell[1].append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif tag == "td":
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[0] += data


def _rows(html: str, cls: str) -> list[list[tuple[str, list[str]]]]:
    parser = _Tables(cls)
    parser.feed(html)
    return [[(text.strip(), hrefs) for text, hrefs in row] for row in parser.rows if row]


# --- Benjamini–Hochberg ------------------------------------------------------------------------


def test_bh_adjust_by_hand():
    # m = 4, sorted 0.005, 0.01, 0.03, 0.04: 0.04, min(0.04, 0.04), min(0.04, 0.02), 0.02.
    assert pub.bh_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert pub.bh_adjust([]) == []
    assert pub.bh_adjust([None, None]) == [None, None]
    assert pub.bh_adjust([0.9, 0.95]) == pytest.approx([0.95, 0.95])


def test_bh_adjust_matches_statsmodels(rng):
    p = [*rng.uniform(0, 0.2, size=40), 0.04, 0.04, 0.04, 1.0, 0.0]
    p = [float(x) for x in rng.permutation(p)]
    expected = multipletests(p, method="fdr_bh")[1]
    assert pub.bh_adjust(p) == pytest.approx(list(expected), abs=1e-12)
    with_none = [*p[:10], None, *p[10:]]
    adjusted = pub.bh_adjust(with_none)
    assert adjusted[10] is None
    assert adjusted[:10] + adjusted[11:] == pytest.approx(list(expected), abs=1e-12)


def test_publish_adjusts_across_the_confirmatory_family_only(workbook):
    site = _publish(workbook)
    rows = json.loads((site / "results.json").read_text(encoding="utf-8"))
    assert [(r["run"], r["name"]) for r in rows] == [
        (run_id, name) for run_id, results in RESULTS.items() for name, _ in results
    ]
    family = [r for r in rows if r["confirmatory"]]
    assert {(r["run"], r["name"]): r["family"] for r in family} == CONFIRMATORY
    # m = 3: p = 0.01, 0.02, 0.9 -> 0.03, 0.03, 0.9 (by hand), as statsmodels has it.
    assert [r["p_bh"] for r in family] == pytest.approx([0.03, 0.03, 0.9])
    expected = multipletests([r["p"] for r in family], method="fdr_bh")[1]
    assert [r["p_bh"] for r in family] == pytest.approx(list(expected), abs=1e-9)
    assert all(r["p_bh"] is None and r["family"] == "" for r in rows if not r["confirmatory"])
    with (site / "results.csv").open(newline="", encoding="utf-8") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert [r["confirmatory"] for r in csv_rows] == [str(r["confirmatory"]) for r in rows]
    assert [r["p_bh"] for r in csv_rows if r["confirmatory"] == "False"] == [""] * 3
    index = (site / "index.html").read_text(encoding="utf-8")
    shown = {(cells[1][0], cells[2][0]): cells for cells in _rows(index, "results")}
    for r in rows:
        cells = shown[(r["run"], r["name"])]
        assert cells[3][0] == ("confirmatory" if r["confirmatory"] else "robustness")
        assert cells[7][0] == ("" if r["p_bh"] is None else f"{r['p_bh']:.3g}")


def _findings(index: str) -> dict[str, str]:
    """The text of each finding on the index, by hypothesis."""
    parser = _Sections()
    parser.feed(index)
    return parser.found


class _Sections(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found, self.current, self.depth = {}, None, 0

    def handle_starttag(self, tag, attrs):
        ident = dict(attrs).get("id") or ""
        if tag == "section" and ident.startswith("finding-"):
            self.current = ident.removeprefix("finding-")
            self.found[self.current] = ""

    def handle_endtag(self, tag):
        if tag == "section":
            self.current = None

    def handle_data(self, data):
        if self.current:
            self.found[self.current] += data


def test_the_index_leads_with_one_sentence_and_a_verdict_per_hypothesis(workbook):
    index = (_publish(workbook) / "index.html").read_text(encoding="utf-8")
    found = {h: " ".join(text.split()) for h, text in _findings(index).items()}
    assert list(found) == ["H1", "H2", "H3", "H4", "H5", "H6"]
    assert index.index('id="findings"') < index.index('id="results"')
    # H1: -0.5 below 0 as predicted, BH p 0.03 < 0.05.
    assert "SUPPORTED" not in found["H1"] and "supported." in found["H1"]
    assert "mean = -0.5" in found["H1"] and "p = 0.01, BH-adjusted p = 0.03, n = 40" in found["H1"]
    # H2: 0.8 is below the null of 1 where H2 predicts above; BH p 0.03.
    assert "contradicted." in found["H2"]
    assert "not distinguishable from no effect." in found["H3"]
    assert "run 'broken' failed, so result 'gap' is missing" in found["H4"]
    assert "run 'never' has not been run yet" in found["H5"]
    assert "run 'alpha' did not record a result named 'absent'" in found["H6"]
    assert 'href="failed/broken.html"' in index
    assert 'src="figures/site--confirmatory-forest.png"' in index
    assert "Verdict rule" in index


def test_verdict_rule_by_hand():
    below, above = {"direction": "below"}, {"direction": "above", "null": 1}
    assert pub.verdict({"estimate": -0.1, "p_bh": 0.049}, below) == "supported"
    assert pub.verdict({"estimate": 0.1, "p_bh": 0.049}, below) == "contradicted"
    assert pub.verdict({"estimate": -0.1, "p_bh": 0.05}, below) == (
        "not distinguishable from no effect"
    )
    assert pub.verdict({"estimate": 1.5, "p_bh": 0.01}, above) == "supported"
    assert pub.verdict({"estimate": 0.5, "p_bh": 0.01}, above) == "contradicted"
    assert pub.verdict({"estimate": 0.5, "p_bh": None}, above).startswith("not distinguishable")
    assert pub.verdict({"estimate": 0.5, "p_bh": 0.01}, {}) == "effect, direction not stated"


def test_the_site_figures_are_byte_identical_across_rebuilds(workbook):
    site = _publish(workbook)
    names = ["site--confirmatory-forest.png", "site--timeline.png", "site--regions.png"]
    first = {n: (site / "figures" / n).read_bytes() for n in names}
    assert all(b.startswith(b"\x89PNG") for b in first.values())
    site = _publish(workbook, force=True)
    assert {n: (site / "figures" / n).read_bytes() for n in names} == first


# --- failed runs ------------------------------------------------------------------------------


def test_a_failed_run_is_listed_with_its_error_and_links_its_kept_notebook(workbook):
    site = _publish(workbook)
    index = (site / "index.html").read_text(encoding="utf-8")
    status = {cells[0][0].split()[0]: cells for cells in _rows(index, "status")}
    assert set(status) == {"alpha", "beta", "broken", "never"}
    broken = status["broken"]
    assert broken[1][0] == "failed"
    assert broken[4][0] == "cell 4: ValueError: bad <value> & more"  # index 3, counted from 1
    assert "bad &lt;value&gt; &amp; more" in index
    assert broken[0][1] == ["failed/broken.html", "failed/broken.ipynb"]
    kept = workbook.failed_dir / "broken"
    assert (site / "failed/broken.html").read_bytes() == (kept / "notebook.html").read_bytes()
    assert (site / "failed/broken.ipynb").read_bytes() == (kept / "notebook.ipynb").read_bytes()
    assert status["alpha"][0][1] == ["runs/alpha.html", "runs/alpha.ipynb"]
    assert status["never"][1][0] == "not run" and status["never"][0][1] == []
    assert all(cells[1][0] != "broken" for cells in _rows(index, "results"))


# --- atomic swap ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "page", ["index_page", "codebook_page", "gallery_page", "data_page", "deal_page"]
)
@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_a_failed_build_leaves_the_previous_site_byte_identical(workbook, monkeypatch, page, exc):
    site = _publish(workbook)
    before = _snapshot(site)
    assert "index.html" in before and "data.html" in before
    # Change what the site shows, so a swapped-in build would differ from the old site.
    _write(workbook.runs_dir / "alpha" / "results.json", [{"name": "new", "p": 0.5}])

    def broken(*_args, **_kw):
        raise exc

    monkeypatch.setattr(pub, page, broken)
    with pytest.raises(type(exc)):
        _publish(workbook, force=True)
    assert _snapshot(site) == before
    leftovers = [p.name for p in workbook.outputs.iterdir() if p.name.startswith(".")]
    assert leftovers == [], "the half-built site is removed"


def test_a_successful_rebuild_replaces_the_site(workbook):
    site = _publish(workbook)
    (site / "stale.html").write_text("from an older build", encoding="utf-8")
    _write(workbook.runs_dir / "alpha" / "results.json", [{"name": "new", "p": 0.5}])
    _publish(workbook, force=True)
    assert not (site / "stale.html").exists()
    rows = json.loads((site / "results.json").read_text(encoding="utf-8"))
    assert ("alpha", "new") in {(r["run"], r["name"]) for r in rows}


def test_an_unchanged_site_is_not_rebuilt(workbook):
    site = _publish(workbook)
    (site / "marker").write_text("kept", encoding="utf-8")
    _publish(workbook, force=False)
    assert (site / "marker").exists()
    _write(workbook.runs_dir / "beta" / "manifest.json", {"run_id": "beta", "parameters": {}})
    _publish(workbook, force=False)
    assert not (site / "marker").exists(), "a changed manifest rebuilds the site"


# --- data on the site ---------------------------------------------------------------------------


def _edit_first_row(path: Path, field: str, value: str) -> int:
    """Set one field of the first row of a CSV; returns the number of rows."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    rows[0][field] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def test_the_data_page_shows_notes_and_names_as_escaped_text(workbook):
    data = workbook.root / "data"
    n_exchanges = _edit_first_row(data / "exchanges.csv", "notes", '<script>x</script> & "q"')
    n_parties = _edit_first_row(data / "parties.csv", "name", "<img src=x onerror=y>")
    html = (_publish(workbook) / "data.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;x&lt;/script&gt; &amp; &#34;q&#34;" in html
    assert "&lt;img src=x onerror=y&gt;" in html
    assert "<script" not in html and "<img" not in html
    texts = [cell for row in _rows(html, "browse") for cell, _ in row]
    assert '<script>x</script> & "q"' in texts and "<img src=x onerror=y>" in texts
    assert len(_rows(html, "browse")) == n_exchanges + n_parties


def test_a_table_not_coded_yet_is_named_but_not_linked(workbook):
    (workbook.root / "data" / "exchanges.csv").unlink()
    site = _publish(workbook)
    for page in site.glob("*.html"):
        assert 'href="data/exchanges.csv"' not in page.read_text(encoding="utf-8"), page.name
    assert "This table is not coded yet." in (site / "data.html").read_text(encoding="utf-8")
    assert 'href="data/parties.csv"' in (site / "codebook.html").read_text(encoding="utf-8")


# --- the case browser ---------------------------------------------------------------------------


def _text(html: str) -> str:
    """The visible text of a page, whitespace collapsed (tags dropped, entities decoded)."""

    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag in {"p", "dt", "dd", "td", "th", "li", "blockquote", "h1", "h2", "h3", "br"}:
                self.parts.append(" ")

        def handle_data(self, data):
            self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return " ".join("".join(parser.parts).split())


def test_a_deal_page_shows_tranches_parties_alliances_spells_and_quotes(workbook):
    site = _publish(workbook)
    html = (site / "deals" / "2011-big-deal.html").read_text(encoding="utf-8")
    text = _text(html)
    assert "Big deal (synthetic)" in text and "2 tranches" in text
    assert "Tranche 1: Big deal tranche 1 (synthetic)" in text
    assert "Tranche 2: Big deal tranche 2 (synthetic)" in text
    # Totals from deals.csv, with the quote behind them.
    assert "1027 ❝ The first tranche freed 477, the second 550." in text
    assert "released by a 477 ❝ The count was 477." in text
    assert "released by a 550 ❝ The count was 550." in text
    assert 'class="src" href="https://example.org/fixture/exchanges"' in html
    # ALPHA is in the synthetic NATO stand-in on both dates; ECHO in nothing.
    parties = [[c[0] for c in row] for row in _rows(html, "parties")]
    assert (
        parties
        == [
            ["a", "Alphaland (synthetic) ALPHA", "", "", "North Atlantic stand-in (synthetic)"],
            ["b", "Echo Front (synthetic) ECHO", "", "", "none"],
        ]
        * 2
    )
    assert "Mediatoria (synthetic) MED, Relief Committee (synthetic) RC" in text
    # The captivity spell the first tranche ended, linked to its page.
    assert 'href="../captivities/soldier-2006.html"' in html
    spell = (site / "captivities" / "soldier-2006.html").read_text(encoding="utf-8")
    assert "It happened on 25 June 2006." in _text(spell)
    assert 'href="../deals/2011-big-deal.html"' in spell


def test_a_deal_without_a_deals_row_is_derived_from_its_tranches(workbook):
    data = workbook.root / "data"
    gone = ("2003-deal,", "deals,2003-deal,", "exchanges,2003-01-01-DELTA-CHARLIE,released_by_a,")
    for name in ("deals.csv", "evidence.csv"):  # the 2003 deal loses its deals row and a quote
        lines = (data / name).read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith(gone)]
        (data / name).write_text("".join(kept), encoding="utf-8")
    site = _publish(workbook)
    text = _text((site / "deals" / "2003-deal.html").read_text(encoding="utf-8"))
    assert "No row in deals.csv yet: the values below are derived from the tranches." in text
    assert "Released by A in total 100 (derived from the tranches: see their quotes)" in text
    assert "released by a 100 (no quote recorded)" in text
    # DELTA joined the stand-in NATO on 2000-03-15 (suspended from 2005); CHARLIE is in a
    # consultation pact 1990-2010. The exchange is on 2003-01-01.
    html = (site / "deals" / "2003-deal.html").read_text(encoding="utf-8")
    parties = [[c[0] for c in row] for row in _rows(html, "parties")]
    assert [p[-1] for p in parties] == [
        "North Atlantic stand-in (synthetic)",
        "Consultation pact (synthetic)",
    ]


def test_the_deals_index_lists_every_deal_with_year_dyad_region_format_and_mediators(workbook):
    site = _publish(workbook)
    html = (site / "deals.html").read_text(encoding="utf-8")
    rows = _rows(html, "deals")
    deals = {r[1][0]: r for r in rows}
    assert set(deals) == {
        "Spy swap (synthetic)",
        "Deal (synthetic)",
        "Big deal (synthetic)",
        "Bodies and prisoners (synthetic)",
        "Multilateral swap (synthetic)",
    }
    big = [c[0] for c in deals["Big deal (synthetic)"]]
    assert big[0] == "2011" and big[2] == "Alphaland (synthetic) – Echo Front (synthetic)"
    assert big[3:9] == [
        "Middle East",
        "bilateral",
        "Mediatoria (synthetic), Relief Committee (synthetic)",
        "2",
        "1,027",
        "1",
    ]
    assert deals["Big deal (synthetic)"][1][1] == ["deals/2011-big-deal.html"]
    assert [r[0][0] for r in rows] == sorted(r[0][0] for r in rows), "in date order"
    assert '<script src="assets/datatables.js"></script>' in html
    assert "cdn" not in html.lower() and "unpkg" not in html


def test_quotes_and_values_from_the_data_are_escaped_on_case_pages(workbook):
    site = _publish(workbook)
    html = (site / "deals" / "1962-spy-swap.html").read_text(encoding="utf-8")
    assert "two men &lt;b&gt;in exchange&lt;/b&gt; &amp; more" in html
    assert "<b>" not in html


# --- downloads -------------------------------------------------------------------------------


def test_every_table_downloads_as_parquet_stata_and_r_with_the_codebook_labels(workbook):
    import pandas as pd
    import pyreadr

    site = _publish(workbook)
    descriptor = json.loads((workbook.root / "data" / "datapackage.json").read_text())
    fields = {f["name"]: f for f in _resource(descriptor, "exchanges")["schema"]["fields"]}
    with (workbook.root / "data" / "exchanges.csv").open(newline="", encoding="utf-8") as fh:
        coded = list(csv.DictReader(fh))

    parquet = pd.read_parquet(site / "downloads/parquet/exchanges.parquet")
    assert list(parquet["exchange_id"]) == [r["exchange_id"] for r in coded]
    assert list(parquet["mediators"]) == [r["mediators"] for r in coded]
    assert str(parquet["exchange_date"].dtype).startswith("datetime64")

    with pd.io.stata.StataReader(site / "downloads/dta/exchanges.dta") as reader:
        dta = reader.read()
        labels = reader.variable_labels()
        value_labels = reader.value_labels()
    assert list(dta["exchange_id"]) == [r["exchange_id"] for r in coded]
    assert list(dta["region"].astype(str)) == [r["region"] for r in coded]
    assert labels["released_by_a"] == fields["released_by_a"]["description"][:80]
    assert all(len(v) <= 80 for v in labels.values())
    regions = fields["region"]["constraints"]["enum"]
    assert sorted(value_labels["region"].values()) == sorted(regions)
    assert dta["released_by_a"].tolist() == [float(r["released_by_a"]) for r in coded]

    rds = pyreadr.read_r(str(site / "downloads/rds/exchanges.rds"))[None]
    assert list(rds["exchange_id"]) == [r["exchange_id"] for r in coded]
    assert isinstance(rds["region"].dtype, pd.CategoricalDtype)
    assert set(rds["region"].cat.categories) == set(regions)
    assert list(rds["exchange_date"]) == [r["exchange_date"] for r in coded]
    downloads = (site / "downloads.html").read_text(encoding="utf-8")
    for fmt in ("parquet", "dta", "rds"):
        assert f'href="downloads/{fmt}/exchanges.{fmt}"' in downloads
    assert 'href="data/exchanges.csv"' in downloads


def _resource(descriptor: dict, name: str) -> dict:
    return next(r for r in descriptor["resources"] if r["name"] == name)


def test_the_state_year_file_is_keyed_by_cow_code_and_counts_by_hand(workbook):
    import pandas as pd

    _edit_first_row_where(workbook.root / "data" / "parties.csv", "DELTA", "cow_code", "")
    site = _publish(workbook)
    sy = pd.read_csv(site / "downloads/state_year/state_year.csv")
    assert not sy.duplicated(["cow_code", "year"]).any()
    assert sy["year"].min() == 1962 and sy["year"].max() == 2025  # first exchange to cutoff
    alpha = sy[sy["cow_code"] == 901].set_index("year")
    # 2011: two tranches of one deal; ALPHA released 477 + 550 and received 1.
    assert alpha.loc[2011, ["n_exchanges", "n_deals", "released", "received"]].tolist() == [
        2,
        1,
        1027,
        1,
    ]
    assert alpha.loc[2011, "nato"] == 1 and alpha.loc[1962, "nato"] == 1
    assert alpha.loc[2012, ["n_exchanges", "released"]].tolist() == [0, 0]
    # USA in the multilateral swap of 2024: 3 released as listed in exchange_parties.
    usa = sy[sy["cow_code"] == 905].set_index("year")
    assert usa.loc[2024, ["released", "received"]].tolist() == [3, 16]
    assert 904 not in set(sy["cow_code"]), "DELTA has no COW code in this copy"
    downloads = _text((site / "downloads.html").read_text(encoding="utf-8"))
    assert "1 state(s) have no COW code in parties.csv yet and are not in the file: DELTA." in (
        downloads
    )
    with pd.io.stata.StataReader(site / "downloads/state_year/state_year.dta") as reader:
        assert reader.read()["cow_code"].tolist() == sy["cow_code"].tolist()


def _edit_first_row_where(path: Path, key: str, field: str, value: str) -> None:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    for row in rows:
        if key in row.values():
            row[field] = value
            break
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_citation_version_and_changelog_are_offered(workbook):
    (workbook.root / "CITATION.cff").write_text("cff-version: 1.2.0\ntitle: x\n", encoding="utf-8")
    (workbook.root / "data" / "CHANGELOG.md").write_text(
        "# Data changelog\n\n## 2.0.0\n- deals <script>x</script>\n", encoding="utf-8"
    )
    site = _publish(workbook)
    descriptor = json.loads((workbook.root / "data" / "datapackage.json").read_text())
    bib = (site / "downloads" / "dataset.bib").read_text(encoding="utf-8")
    assert bib.startswith("@misc{") and f"version = {{{descriptor['version']}}}" in bib
    assert (site / "downloads" / "CITATION.cff").read_text() == "cff-version: 1.2.0\ntitle: x\n"
    html = (site / "downloads.html").read_text(encoding="utf-8")
    assert f"Dataset version <strong>{descriptor['version']}</strong>" in html
    assert "<h2>2.0.0</h2>" in html and "deals &lt;script&gt;x&lt;/script&gt;" in html
    assert 'href="data/CHANGELOG.md"' in html and (site / "data" / "CHANGELOG.md").is_file()
