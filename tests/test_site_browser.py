"""The published site in a real browser: headless Chromium, opened from disk.

A small fixture workbook (a run that succeeds, one that fails) is executed once with
``research run``; its data has HTML in a note and a party name, and a run parameter that
lands in the results table is a script tag. The tests then crawl the site, read it at phone
width and click the "Show code" toggle. Screenshots go to outputs/screenshots/.

Chromium comes from the system (``apt-get install chromium``), never downloaded. Without it
the tests are skipped, unless ``RESEARCH_REQUIRE_BROWSER=1`` (CI), when they fail.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from .conftest import RESEARCH, ROOT, make_project

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "outputs" / "screenshots"
PHONE = {"width": 375, "height": 800}
DESKTOP = {"width": 1280, "height": 900}
OVERFLOW_TOLERANCE = 1  # px: sub-pixel rounding of scrollWidth

NOTE_INJECTION = "<script>alert(1)</script>"
NAME_INJECTION = "<img src=x onerror=alert(2)>"
LABEL_INJECTION = "<script>alert(3)</script>"
OK_RUN = "ok--n=4"
RUNS = f"""
[[run]]
id = "{OK_RUN}"
notebook = "notebooks/ok.ipynb"
hypothesis = "H0"
parameters = {{ n = 4, label = "{LABEL_INJECTION}" }}

[[run]]
id = "fail"
notebook = "notebooks/fail.ipynb"

[confirmatory]
H0 = {{ run = "{OK_RUN}", result = "mean", direction = "below" }}
H9 = {{ run = "fail", result = "gap" }}
"""
DEAL = "2011-big-deal"
QUOTE_INJECTION = "Bravonia released two men <b>in exchange</b> & more (synthetic quote)."


def _require_chromium() -> None:
    """Skip without Chromium or Playwright, or fail when CI requires the browser."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package is not installed")
    if not missing:
        return
    reason = "browser tests need Chromium: " + "; ".join(missing)
    if os.environ.get("RESEARCH_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and RESEARCH_REQUIRE_BROWSER=1 requires them")
    pytest.skip(reason)


def _set_first(path: Path, field_name: str, value: str) -> None:
    """Set one cell of a fixture CSV (the first row), keeping every other byte of meaning."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    rows[0][field_name] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The fixture workbook with injected HTML in its data, executed and published."""
    _require_chromium()
    project = make_project(tmp_path_factory.mktemp("site"), RUNS)
    _set_first(project / "data" / "exchanges.csv", "notes", NOTE_INJECTION)
    _set_first(project / "data" / "parties.csv", "name", NAME_INJECTION)
    done = subprocess.run(
        [RESEARCH, "run", "-q", "-j", "2"], cwd=project, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1, f"one run fails, so the exit status is 1:\n{done.stderr}"
    assert (project / "outputs" / "site" / "index.html").is_file(), done.stdout + done.stderr
    return project


@pytest.fixture(scope="module")
def site(project: Path) -> Path:
    return project / "outputs" / "site"


@pytest.fixture(scope="module")
def browser(project: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Tab:
    """A page that records console errors, page errors, dialogs and non-local requests."""

    page: object
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return (
            [f"console/page error: {e}" for e in self.errors]
            + [f"dialog fired: {d}" for d in self.dialogs]
            + [f"request leaves the site: {r}" for r in self.remote]
        )


def _dialog(tab: Tab, dialog) -> None:
    tab.dialogs.append(f"{dialog.type}: {dialog.message}")
    dialog.dismiss()


def local(url: str) -> bool:
    """A request that stays on this machine: a site file, an inline image, or the blob the
    page makes itself from the embedded DataTables bundle."""
    return urlsplit(url).scheme in ("file", "data") or url.startswith("blob:null/")


def _open_tab(browser, viewport: dict) -> Tab:
    page = browser.new_page(viewport=viewport)
    tab = Tab(page)
    page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    page.on("dialog", lambda d: _dialog(tab, d))
    page.on(
        "request",
        lambda r: None if local(r.url) else tab.remote.append(r.url),
    )
    return tab


@pytest.fixture
def tab(browser):
    t = _open_tab(browser, DESKTOP)
    yield t
    t.page.close()


@pytest.fixture
def phone(browser):
    t = _open_tab(browser, PHONE)
    yield t
    t.page.close()


def _url(site: Path, rel: str) -> str:
    return (site / rel).as_uri()


def _pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))


# Every element that points at another file: links, images and anything loaded.
REFERENCES = """() => [
  ...[...document.querySelectorAll('a[href]')]
      .map(e => [e.classList.contains('src') ? 'source' : 'a', e.href]),
  ...[...document.querySelectorAll('img[src]')].map(e => ['img', e.src]),
  ...[...document.querySelectorAll('link[href]')].map(e => ['link', e.href]),
  ...[...document.querySelectorAll('script[src], iframe[src], source[src]')]
      .map(e => [e.tagName.toLowerCase(), e.src]),
]"""
IDS = "() => [...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.name)"


def _resolve(site: Path, kind: str, url: str) -> tuple[Path | None, str, str]:
    """The site file a reference points at, its fragment, and a problem ('' if none)."""
    parts = urlsplit(url)
    if kind == "source" and parts.scheme in ("http", "https"):
        return None, "", ""  # a cited source page: shown, never loaded by the site
    if kind == "img" and parts.scheme == "data":
        return None, "", ""  # an embedded image is part of the page
    if parts.scheme != "file":
        return None, "", f"{kind} points outside the site: {url}"
    target = Path(unquote(parts.path)).resolve()
    if not target.is_relative_to(site.resolve()):
        return None, "", f"{kind} points outside the site folder: {url}"
    if not target.is_file():
        return None, "", f"{kind} points at a missing file: {url}"
    return target, unquote(parts.fragment), ""


def test_every_link_and_image_resolves_within_the_site_and_pages_are_clean(tab, site):
    queue, seen = deque([site / "index.html"]), set()
    ids: dict[Path, set[str]] = {}
    fragments: list[tuple[Path, str, str]] = []
    problems: list[str] = []
    while queue:
        page_path = queue.popleft().resolve()
        if page_path in seen:
            continue
        seen.add(page_path)
        tab.page.goto(page_path.as_uri())
        ids[page_path] = set(tab.page.evaluate(IDS))
        for kind, url in tab.page.evaluate(REFERENCES):
            target, fragment, problem = _resolve(site, kind, url)
            where = page_path.relative_to(site.resolve())
            if problem:
                problems.append(f"{where}: {problem}")
            elif target is not None and target.suffix == ".html":
                queue.append(target)
                if fragment:
                    fragments.append((target, fragment, f"{where}: {url}"))
    for target, fragment, where in fragments:
        if fragment not in ids[target]:
            problems.append(f"{where}: no element with id {fragment!r}")
    assert problems == []
    assert tab.problems() == []
    crawled = {p.relative_to(site.resolve()).as_posix() for p in seen}
    assert crawled == set(_pages(site)), "every page is reachable from the index"
    assert {"index.html", "data.html", "codebook.html", "gallery.html"} <= crawled
    assert {"deals.html", "captivities.html", "downloads.html", f"deals/{DEAL}.html"} <= crawled
    assert {f"runs/{OK_RUN}.html", "failed/fail.html"} <= crawled


def _results(tab: Tab) -> list[dict[str, str]]:
    return tab.page.evaluate(
        """() => {
          const t = document.querySelector('table.results');
          const head = [...t.querySelectorAll('thead th')].map(th => th.innerText.trim());
          return [...t.querySelectorAll('tbody tr')].map(tr => Object.fromEntries(
            [...tr.children].map((td, i) => [head[i], td.innerText.trim()])));
        }"""
    )


def test_results_table_shows_the_expected_rows(tab, site):
    tab.page.goto(_url(site, "index.html"))
    rows = sorted(_results(tab), key=lambda r: r["Result"])
    assert [(r["Hypothesis"], r["Run"], r["Result"]) for r in rows] == [
        ("H0", OK_RUN, "label_echo"),
        ("H0", OK_RUN, "mean"),
    ]
    # The confirmatory family is "mean" alone (H9's run failed): BH leaves 0.04 as it is, and
    # label_echo, outside the family, has no adjusted p.
    assert [(r["p"], r["p (BH)"]) for r in rows] == [("0.5", ""), ("0.04", "0.04")]
    assert [r["Family"] for r in rows] == ["robustness", "confirmatory"]
    assert rows[0]["Method"] == LABEL_INJECTION
    assert rows[1]["n"] == "4"
    assert tab.problems() == []


def test_failed_run_is_listed_with_its_error_and_its_kept_notebook(tab, site):
    tab.page.goto(_url(site, "index.html"))
    row = tab.page.locator("table.status tbody tr").filter(has_text="failed")
    assert row.count() == 1
    assert "ValueError: deliberate failure for the test" in row.inner_text()
    row.get_by_role("link", name="fail", exact=True).click()
    tab.page.wait_for_load_state()
    assert tab.page.url == _url(site, "failed/fail.html")
    assert "deliberate failure for the test" in tab.page.inner_text("body")
    assert tab.problems() == []


def test_codebook_lists_every_field_of_every_resource(tab, site, project):
    descriptor = json.loads((project / "data" / "datapackage.json").read_text(encoding="utf-8"))
    tab.page.goto(_url(site, "codebook.html"))
    listed = tab.page.evaluate(
        """() => [...document.querySelectorAll('table.codebook')].map(t =>
              [...t.querySelectorAll('tbody tr td:first-child')].map(td => td.innerText.trim()))"""
    )
    expected = [[f["name"] for f in res["schema"]["fields"]] for res in descriptor["resources"]]
    assert listed == expected
    headings = tab.page.evaluate("() => [...document.querySelectorAll('h2[id]')].map(h => h.id)")
    assert headings == [res["name"] for res in descriptor["resources"]]
    assert tab.problems() == []


def test_html_in_the_data_shows_as_text(tab, site):
    tab.page.goto(_url(site, "data.html"))
    text = tab.page.inner_text("main")
    assert NOTE_INJECTION in text
    assert NAME_INJECTION in text
    assert tab.page.locator("main img, main script").count() == 0
    tab.page.goto(_url(site, "index.html"))
    assert LABEL_INJECTION in tab.page.inner_text("table.results")
    assert tab.dialogs == []
    assert tab.problems() == []


def test_show_code_toggles_code_on_a_notebook_page(tab, site):
    tab.page.goto(_url(site, f"runs/{OK_RUN}.html"))
    code = tab.page.locator(".jp-CodeCell .jp-Cell-inputWrapper")
    button = tab.page.locator("#rw-toggle")
    assert code.count() >= 3
    assert not code.first.is_visible()
    assert button.inner_text() == "Show code"
    # Outputs stay visible with the code hidden: the label printed by the notebook.
    assert repr(LABEL_INJECTION) in tab.page.inner_text("main")
    button.click()
    assert all(code.nth(i).is_visible() for i in range(code.count()))
    assert button.inner_text() == "Hide code"
    assert button.get_attribute("aria-pressed") == "true"
    button.click()
    assert not code.first.is_visible()
    assert button.inner_text() == "Show code"
    assert tab.problems() == []


def _screenshot(tab: Tab, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
    assert (SCREENSHOTS / name).stat().st_size > 0


def test_every_page_fits_a_phone_without_horizontal_scrolling(phone, site):
    too_wide = {}
    for rel in _pages(site):
        phone.page.goto(_url(site, rel))
        if phone.page.locator("table.interactive").count():
            _ready(phone)
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"] + OVERFLOW_TOLERANCE:
            too_wide[rel] = width
    assert too_wide == {}
    phone.page.goto(_url(site, "index.html"))
    _screenshot(phone, "index-phone.png")
    phone.page.goto(_url(site, f"runs/{OK_RUN}.html"))
    _screenshot(phone, "notebook-phone.png")
    phone.page.goto(_url(site, f"deals/{DEAL}.html"))
    _screenshot(phone, "deal-phone.png")
    assert phone.problems() == []


def _ready(tab: Tab) -> None:
    tab.page.wait_for_selector("table.interactive[data-ready=true]", timeout=15_000)


def _visible_rows(tab: Tab, table: str) -> list[list[str]]:
    return tab.page.evaluate(
        f"""() => [...document.querySelectorAll('{table} tbody tr')]
              .filter(tr => tr.offsetParent !== null)
              .map(tr => [...tr.children].map(td => td.innerText.trim()))"""
    )


def test_the_index_leads_with_the_verdicts_and_the_forest_plot(tab, site):
    tab.page.goto(_url(site, "index.html"))
    first = tab.page.locator("main h2").first
    assert first.inner_text() == "What was found"
    h0 = tab.page.locator("#finding-H0").inner_text()
    assert "mean =" in h0 and "BH-adjusted p = 0.04" in h0 and "n = 4" in h0
    assert "run 'fail' failed" in tab.page.locator("#finding-H9").inner_text()
    forest = tab.page.locator("img[src='figures/site--confirmatory-forest.png']")
    assert forest.evaluate("img => img.complete && img.naturalWidth > 0")
    # The results table filters as one types.
    _ready(tab)
    tab.page.locator("#DataTables_Table_0_wrapper input, .dt-search input").first.fill("label")
    rows = _visible_rows(tab, "table.results")
    assert [r[2] for r in rows] == ["label_echo"]
    assert tab.problems() == []


def test_the_deals_index_searches_and_sorts(tab, site):
    tab.page.goto(_url(site, "deals.html"))
    _ready(tab)
    all_rows = _visible_rows(tab, "table.deals")
    assert len(all_rows) == 5
    search = tab.page.locator(".dt-search input")
    search.fill("Middle East")
    assert [r[1] for r in _visible_rows(tab, "table.deals")] == ["Big deal (synthetic)"]
    search.fill("Mediatoria")  # a mediator's name
    assert {r[1] for r in _visible_rows(tab, "table.deals")} == {
        "Deal (synthetic)",
        "Big deal (synthetic)",
        "Multilateral swap (synthetic)",
    }
    search.fill("2023")  # a year
    assert [r[0] for r in _visible_rows(tab, "table.deals")] == ["2023"]
    search.fill("")
    header = tab.page.locator("table.deals thead th", has_text="Released by A")
    header.click()
    tab.page.wait_for_function(
        "() => document.querySelector('table.deals thead th:nth-child(8)')"
        ".getAttribute('aria-sort') === 'ascending'"
    )
    released = [int(r[7].replace(",", "")) for r in _visible_rows(tab, "table.deals")]
    assert released == sorted(released)
    header.click()
    tab.page.wait_for_function(
        "() => document.querySelector('table.deals thead th:nth-child(8)')"
        ".getAttribute('aria-sort') === 'descending'"
    )
    released = [int(r[7].replace(",", "")) for r in _visible_rows(tab, "table.deals")]
    assert released == sorted(released, reverse=True)
    # A column filter in the footer: region.
    region = tab.page.locator("table.deals tfoot input").nth(3)
    assert region.get_attribute("placeholder") == "Region"
    region.press_sequentially("Europe")
    assert {r[3] for r in _visible_rows(tab, "table.deals")} == {"Europe"}
    assert tab.problems() == []


def test_a_case_page_shows_the_quote_behind_a_value(tab, site):
    tab.page.goto(_url(site, "deals.html"))
    tab.page.get_by_role("link", name="Big deal (synthetic)").click()
    tab.page.wait_for_load_state()
    assert tab.page.url == _url(site, f"deals/{DEAL}.html")
    marker = tab.page.locator("details.ev").first
    quote = marker.locator("blockquote")
    assert not quote.is_visible()
    marker.locator("summary").click()  # the second click from the deals index
    assert quote.is_visible()
    assert quote.inner_text() == "It happened on 11 October 2011."
    assert marker.locator("a.src").get_attribute("href") == "https://example.org/fixture/deals"
    assert tab.page.get_by_text("no quote recorded").count() > 0
    assert tab.problems() == []


def test_quotes_from_the_data_show_as_text(tab, site):
    tab.page.goto(_url(site, "deals/1962-spy-swap.html"))
    marker = tab.page.locator("details.ev").filter(has_text="two men")
    marker.locator("summary").click()
    assert marker.locator("blockquote").inner_text() == QUOTE_INJECTION
    assert marker.locator("blockquote b").count() == 0
    assert tab.problems() == []


def test_screenshots_of_the_index_and_a_notebook(tab, site):
    tab.page.goto(_url(site, "index.html"))
    _screenshot(tab, "index.png")
    tab.page.goto(_url(site, "deals.html"))
    _ready(tab)
    _screenshot(tab, "deals.png")
    tab.page.goto(_url(site, f"deals/{DEAL}.html"))
    tab.page.locator("details.ev summary").first.click()
    _screenshot(tab, "deal.png")
    tab.page.goto(_url(site, f"runs/{OK_RUN}.html"))
    tab.page.locator("#rw-toggle").click()
    _screenshot(tab, "notebook.png")
    assert tab.problems() == []
