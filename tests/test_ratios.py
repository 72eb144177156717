"""Deal ratios from deal totals or matched tranches, and Manski bounds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from research import ratios


def _tranches() -> pd.DataFrame:
    # deal X: a matched tranche 11 for 29 and a one-sided tranche (B released 242) -- the
    # Colombia-FARC 2001 pattern; deal Y: no count for B at all
    return pd.DataFrame(
        {
            "deal_id": ["X", "X", "Y"],
            "released_by_a": [11, np.nan, 5],
            "released_by_b": [29, 242, np.nan],
            "bodies_by_a": [np.nan, np.nan, np.nan],
            "bodies_by_b": [np.nan, 3, np.nan],
            "count_precision": ["exact", "approximate", "exact"],
            "count_disputed": [False, True, False],
        }
    )


def test_matched_tranches_only():
    r = ratios.deal_ratios(_tranches())
    x = r.loc["X"]
    assert x["ratio_source"] == "matched_tranches" and x["n_matched"] == 1
    assert x["log_ratio_a"] == pytest.approx(math.log(11 / 29))  # not log(11 / 271)
    assert bool(x["counts_exact"]) and not bool(x["counts_disputed"])
    assert not bool(x["counts_complete"])  # the second tranche lacks A's count
    y = r.loc["Y"]
    assert y["ratio_source"] == "none" and np.isnan(y["log_ratio_a"]) and y["one_side_known"]


def test_totals_take_precedence_and_flags_follow_them():
    table = pd.DataFrame(
        {
            "deal_id": ["X"],
            "total_released_by_a": [11],
            "total_released_by_b": [271],
            "totals_precision_a": ["exact"],
            "totals_precision_b": ["exact"],
            "totals_disputed": ["true"],
        }
    )
    r = ratios.deal_ratios(_tranches(), table)
    x = r.loc["X"]
    assert x["ratio_source"] == "deal_totals"
    assert x["log_ratio_a"] == pytest.approx(math.log(11 / 271))
    assert bool(x["counts_disputed"]) and bool(x["counts_complete"])
    assert r.loc["Y", "ratio_source"] == "none"


def test_manski_bounds_by_hand():
    b = ratios.manski_bounds(pd.Series([0.0, 1.0, np.nan]), 2, (-2.0, 3.0))
    assert (b["n_observed"], b["n_missing"]) == (2, 2)
    assert b["lower"] == pytest.approx((1.0 - 4.0) / 4) and b["upper"] == pytest.approx(7.0 / 4)


def test_remains_only_handover_counts_when_bodies_are_included():
    t = pd.DataFrame(
        {
            "deal_id": ["Z", "Z"],
            "released_by_a": [np.nan, 45],
            "released_by_b": [np.nan, 17],
            "bodies_by_a": [123, np.nan],
            "bodies_by_b": [2, np.nan],
            "count_precision": ["exact", "exact"],
            "count_disputed": [False, False],
        }
    )
    assert ratios.deal_ratios(t).loc["Z", "log_ratio_a"] == pytest.approx(math.log(45 / 17))
    with_bodies = ratios.deal_ratios(t, include_bodies=True).loc["Z"]
    assert with_bodies["n_matched"] == 2
    assert with_bodies["log_ratio_a"] == pytest.approx(math.log(168 / 19))
