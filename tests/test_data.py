"""The loader: typed frames whose categories come from the codebook."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import research as rs
from research.exceptions import ResearchError


def test_types_follow_the_codebook(package):
    ds = rs.load(package)
    ex = ds.exchanges
    assert pd.api.types.is_datetime64_any_dtype(ex["exchange_date"])
    assert ex["released_by_a"].dtype == "Int64"
    assert ex["count_disputed"].dtype == "boolean"
    assert ex["mediators"].iloc[2] == ("MED", "RC")
    dp = json.loads((package / "datapackage.json").read_text())
    region = next(
        f
        for r in dp["resources"]
        if r["name"] == "exchanges"
        for f in r["schema"]["fields"]
        if f["name"] == "region"
    )
    assert list(ex["region"].cat.categories) == region["constraints"]["enum"]
    assert ex["confidence"].cat.ordered and ex["confidence"].min() == "high"
    assert ex["released_by_b"].isna().sum() == 1  # an empty cell stays missing


def test_tables_are_copies(package):
    ds = rs.load(package)
    frame = ds.exchanges
    frame.loc[0, "name"] = "changed"
    assert ds.exchanges.loc[0, "name"] != "changed"


def test_unknown_table_and_missing_package(package, tmp_path):
    ds = rs.load(package)
    with pytest.raises(AttributeError, match="the data package has no table 'prisoners'"):
        _ = ds.prisoners
    with pytest.raises(ResearchError, match=r"no datapackage\.json"):
        rs.load(tmp_path / "empty")


def test_cutoff_and_codebook(package):
    ds = rs.load(package)
    assert ds.cutoff == pd.Timestamp("2025-12-31")
    cb = ds.codebook("captivities")
    assert "outcome" in set(cb["field"])
    assert "still_held" in cb.set_index("field").loc["outcome", "allowed"]


def test_environment_variable_chooses_the_package(package, monkeypatch):
    monkeypatch.setenv("RESEARCH_DATA_DIR", str(package))
    assert len(rs.load().exchanges) == 6
