"""The analyses shared by the notebooks, on the fixture package and worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import research as rs
from research import hypotheses as hy
from research.exceptions import AnalysisError


@pytest.fixture
def deals(package):
    return hy.deals(rs.analysis_frame(rs.load(package))).set_index("deal_id")


def test_deals_use_matched_tranches_without_deal_totals(deals):
    big = deals.loc["2011-big-deal"]
    # tranche 1: 477 for 1; tranche 2: 550 released by A, no count for B (not matched).
    # Summing them would set 1027 against 1 from different handovers; the ratio uses the
    # matched tranche only, and says so.
    assert (big["released_by_a"], big["released_by_b"], big["n_tranches"]) == (477, 1, 2)
    assert (big["summed_released_by_a"], big["n_matched"]) == (1027, 1)
    assert big["ratio_source"] == "matched_tranches"
    assert big["log_ratio_a"] == pytest.approx(math.log(477))
    assert not big["counts_complete"]  # the second tranche has no count for B
    assert big["exchange_date"] == pd.Timestamp("2011-10-18")  # struck at the first tranche
    assert big["humanitarian"]  # the first tranche had the relief committee


def test_deal_totals_take_precedence(package):
    frame = rs.analysis_frame(rs.load(package))
    table = pd.DataFrame(
        {
            "deal_id": ["2011-big-deal"],
            "total_released_by_a": [1027],
            "total_released_by_b": [1],
            "totals_precision_a": ["exact"],
            "totals_precision_b": ["approximate"],
            "totals_disputed": ["false"],
            "talks_started_on": [pd.Timestamp("2011-07-01")],
            "talks_start_kind": ["talks_started"],
            "agreement_date": [pd.Timestamp("2011-10-11")],
        }
    )
    d = hy.deals(frame, deal_table=table).set_index("deal_id")
    big = d.loc["2011-big-deal"]
    assert (big["released_by_a"], big["released_by_b"]) == (1027, 1)
    assert big["ratio_source"] == "deal_totals" and big["counts_complete"]
    assert not big["counts_exact"]  # B's total is approximate
    assert big["ttd_talks"] == 102 and big["talks_start_kind"] == "talks_started"
    others = d.drop(index="2011-big-deal")
    assert (others["ratio_source"] != "deal_totals").all()
    assert others["ttd_talks"].isna().all() and (others["talks_start_kind"] == "unknown").all()


def test_filters(deals):
    d = deals.reset_index()
    assert set(hy.filter_deals(d, start_year=2000, end_year=2012)["deal_id"]) == {
        "2003-deal",
        "2011-big-deal",
    }
    assert "2011-big-deal" not in set(hy.filter_deals(d, state_parties_only=True)["deal_id"])
    with pytest.raises(
        AnalysisError,
        match=r"min_confidence must be one of \['low', 'medium', "
        r"'high'\]; not 'certain'",
    ):
        hy.filter_deals(d, min_confidence="certain")


def test_mass_repatriations_are_excluded_by_the_smaller_side(deals):
    d = deals.reset_index()
    d.loc[d["deal_id"] == "2023-bodies", "min_released"] = hy.MASS_THRESHOLD
    kept = hy.filter_deals(d, exclude_mass_repatriations=True)
    assert "2023-bodies" not in set(kept["deal_id"])


def test_orientation_flips_to_the_allied_side(deals):
    o = hy.orient(deals.reset_index(), "defense_pact").set_index("deal_id")
    # 1962: ALPHA (nato) released 1, BRAVO 2 -> log(1/2) from ALPHA's side
    assert o.loc["1962-spy-swap", "log_ratio_allied"] == pytest.approx(math.log(0.5))
    assert o.loc["2003-deal", "allied_side"] == "DELTA"
    assert "2023-bodies" not in o.index  # neither side allied


def test_spells_choose_the_duration_bound(package):
    ds = rs.load(package)
    kinds = dict(zip(ds.parties["party_id"], ds.parties["kind"]))
    durations = rs.captivity_durations(ds)
    lower = hy.spells(durations, "nato", kinds, "days_lower").set_index("captivity_id")
    point = hy.spells(durations, "nato", kinds).set_index("captivity_id")
    assert lower.loc["crew-1968", "duration"] == 327 and point.loc["crew-1968", "duration"] == 357
    assert point.loc["soldier-2006", "holder_nonstate"]
    assert np.all(point["duration"] > 0)
    with pytest.raises(AnalysisError, match="bound must be days, days_lower or days_upper"):
        hy.spells(durations, "nato", kinds, "weeks")


def test_all_for_all_is_read_from_the_names_and_oriented_counts_follow_the_allied_side(deals):
    d = deals.reset_index()
    assert d["all_for_all"].dtype == bool
    o = hy.orient(d, "defense_pact").set_index("deal_id")
    row = o.loc["1962-spy-swap"]  # ALPHA is allied and released 1, BRAVO 2
    assert (row["released_allied"], row["released_other"]) == (1, 2)
    kept = hy.orient(d, "defense_pact", keep_missing=True)
    assert len(kept) >= len(o) and kept["log_ratio_allied"].isna().sum() == len(kept) - len(o)
