"""The README's findings quote the published results, not numbers typed once and left behind.

Each bullet of the README section "What the current data say" names the results it quotes in
an HTML comment, ``<!-- result: <run> | <hypothesis> | <name> -->`` (one or more). Every
decimal number in the bullet must equal, at the decimals shown, a field (estimate, CI, p) of
one of its named results, and every "N deals" / "N dyads" / "N specifications" /
"N clusters" must equal its n or clusters. A bullet with a decimal number and no tag fails.

Two tests: one against the site that `research run` publishes in this test session (the
project copy of tests/conftest.py's ``executed_project``, shared with test_notebooks.py), one
against the local outputs/site/results.json (skipped when absent).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import ROOT

SECTION = "**What the current data say**"
TAG = re.compile(r"<!--\s*result:\s*([^|>]+?)\s*\|\s*([^|>]*?)\s*\|\s*(.+?)\s*-->")
DECIMAL = re.compile(r"(?<![\w.])([<>]\s*)?([−-]?\d+\.\d+)")
COUNT = re.compile(r"(\d[\d,]*) (deals|dyads|specifications|clusters|spells)\b")


def findings(readme: str) -> list[str]:
    """The bullets of the findings section (a bullet runs until the next one or a blank)."""
    start = readme.index(SECTION)
    lines = readme[start:].split("\n\n", 1)[1].split("\n\n")[0].splitlines()
    bullets: list[str] = []
    for line in lines:
        if line.startswith("- "):
            bullets.append(line)
        elif bullets:
            bullets[-1] += " " + line.strip()
    return bullets


def _rows(site_results: Path) -> dict[tuple[str, str, str], dict]:
    data = json.loads(site_results.read_text(encoding="utf-8"))
    rows = data["results"] if isinstance(data, dict) else data
    return {(r.get("run", ""), r.get("hypothesis", ""), r["name"]): r for r in rows}


def problems(readme: str, rows: dict) -> list[str]:
    """Every quoted number that does not match its named results, in words."""
    out = []
    for bullet in findings(readme):
        tags = TAG.findall(bullet)
        text = TAG.sub("", bullet)
        if not tags:
            if DECIMAL.search(text):
                out.append(f"untagged numbers in: {text[:80]}")
            continue
        named = []
        for run, hyp, name in tags:
            if (run, hyp, name) not in rows:
                out.append(f"no published result {run} | {hyp} | {name}")
            else:
                named.append(rows[(run, hyp, name)])
        fields = [r.get(k) for r in named for k in ("estimate", "ci_low", "ci_high", "p", "p_bh")]
        values = [v for v in fields if v is not None]
        for bound, number in DECIMAL.findall(text):
            x = float(number.replace("−", "-"))
            d = len(number.split(".")[1])
            if bound.strip() == "<":
                ok = any(v < x for v in values)
            else:
                ok = any(round(v, d) == x or round(abs(v), d) == x for v in values)
            if not ok:
                out.append(f"{number} matches no field of {[t[2] for t in tags]}")
        counts = [r.get(k) for r in named for k in ("n", "n_clusters")]
        for number, word in COUNT.findall(text):
            if int(number.replace(",", "")) not in counts:
                out.append(f"'{number} {word}' matches no n or clusters of {[t[2] for t in tags]}")
    return out


def test_checker_catches_a_stale_number():
    readme = (
        f"{SECTION} (x):\n\n- **H1**: mean −0.18 (95% CI −1.14 to 0.78; 94 deals in 24 dyads)"
        " <!-- result: r | H1 | m -->\n- no numbers here\n\nafter"
    )
    row = {"estimate": -0.178, "ci_low": -1.138, "ci_high": 0.781, "p": 0.6, "n": 94}
    good = {("r", "H1", "m"): {**row, "n_clusters": 24}}
    assert problems(readme, good) == []
    stale = {("r", "H1", "m"): {**row, "estimate": -0.19, "n_clusters": 24}}
    assert problems(readme, stale) == ["-0.18 matches no field of ['m']".replace("-", "−")]
    assert "untagged" in problems(readme.replace(" <!-- result: r | H1 | m -->", ""), good)[0]
    assert "'24 dyads'" in problems(readme, {("r", "H1", "m"): {**row, "n_clusters": 23}})[0]


@pytest.mark.slow
def test_readme_findings_match_this_sessions_published_results(executed_project):
    site = executed_project / "outputs" / "site" / "results.json"
    assert site.exists(), "research run published no outputs/site/results.json"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert problems(readme, _rows(site)) == []


def test_readme_findings_match_the_local_site():
    site = ROOT / "outputs" / "site" / "results.json"
    if not site.exists():
        pytest.skip("outputs/site/results.json is absent: run `make run` to publish the site")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert problems(readme, _rows(site)) == []
