from __future__ import annotations

import json

import pytest

import research as rs
from research.exceptions import ResearchError
from research.stats import Result


def test_record_appends_to_the_run_results(tmp_path, monkeypatch):
    monkeypatch.setenv("RESEARCH_RUN_DIR", str(tmp_path))
    rs.record(
        "gap", -0.5, ci=(-1.0, 0.1), p=0.04, n=20, n_clusters=5, method="OLS", hypothesis="H1"
    )
    rs.record("share", 0.5, n=8, hypothesis="H1")
    rs.record("share", 0.25, n=8, hypothesis="H2")  # same name, other hypothesis: kept
    rs.record("share", 0.75, n=8, hypothesis="H1")  # same name and hypothesis: replaced
    rows = json.loads((tmp_path / "results.json").read_text())
    assert [(r["name"], r["hypothesis"], r["estimate"]) for r in rows] == [
        ("gap", "H1", -0.5),
        ("share", "H2", 0.25),
        ("share", "H1", 0.75),
    ]
    assert rows[0]["ci_low"] == -1.0 and rows[0]["n_clusters"] == 5


def test_record_from_a_result_object(tmp_path, monkeypatch):
    monkeypatch.setenv("RESEARCH_RUN_DIR", str(tmp_path))
    res = Result("x", 1.23456789012345, 0.5, 2.0, 0.01, 30, 6, "method M")
    rec = rs.record("from result", result=res, hypothesis="H2")
    assert (rec.estimate, rec.n, rec.n_clusters, rec.method) == (1.2345678901, 30, 6, "method M")


def test_interactive_record_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("RESEARCH_RUN_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    rs.record("gap", 1.0)
    assert list(tmp_path.iterdir()) == []


def test_record_rejects_non_numbers():
    with pytest.raises(ResearchError, match=r"record\('gap'\): estimate must be a number"):
        rs.record("gap", "big")
