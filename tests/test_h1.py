"""H1's estimand and robustness set on a synthetic oriented sample worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research import h1
from research.exceptions import AnalysisError


@pytest.fixture
def sample(rng) -> pd.DataFrame:
    dyads = ["RUS-UKR"] * 8 + ["ISR-SYR"] * 3 + ["A-B", "A-C", "D-E", "D-F", "G-H"]
    n = len(dyads)
    sides = [d.split("-") for d in dyads]
    return pd.DataFrame(
        {
            "deal_id": [f"deal{i}" for i in range(n)],
            "dyad": dyads,
            "side_a": [s[0] for s in sides],
            "side_b": [s[1] for s in sides],
            "allied_side": [s[0] for s in sides],
            "other_side": [s[1] for s in sides],
            "log_ratio_allied": rng.normal(-0.3, 1, n).round(3),
            "both_states": [True] * 12 + [False] * 4,
            "state_vs_nonstate": [False] * 12 + [True] * 4,
            "nonstate_opponent": [False] * 12 + [True] * 4,
            "all_for_all": [False] * 14 + [True] * 2,
            "counts_exact": pd.array([True] * 10 + [False] * 6, dtype="boolean"),
            "counts_disputed": pd.array([False] * 13 + [True] * 3, dtype="boolean"),
            "counts_complete": pd.array([True] * 16, dtype="boolean"),
            "ratio_source": ["matched_tranches"] * 16,
            "mediated": [True, False] * 8,
            "era": pd.Categorical(["since_2022"] * 8 + ["cold_war"] * 8),
            "released_allied": rng.integers(1, 50, n),
            "released_other": rng.integers(1, 50, n),
        }
    )


def test_primary_is_the_unadjusted_mean_with_cr2_and_g_star(sample):
    res = h1.h1_inference(sample, seed=1)
    main = res["primary"]
    assert main.name == h1.PRIMARY and main.hypothesis == "H1"
    assert main.estimate == pytest.approx(sample["log_ratio_allied"].mean())
    assert main.ci_low < main.estimate < main.ci_high
    extra = dict(main.extra)
    assert 1 < extra["effective_clusters"] < main.n_clusters == 7
    assert 1 <= extra["df"] < 7  # Bell-McCaffrey df are far below G - 1 with one big cluster
    # the dyad-weighted mean is the mean of the dyads' means
    means = sample.groupby("dyad")["log_ratio_allied"].mean()
    assert res["dyad_mean"].estimate == pytest.approx(means.mean())
    assert "exact over 128 sign patterns" in res["signflip"].method
    assert res["dyadic"].n_clusters == len(set(sample["side_a"]) | set(sample["side_b"]))


def test_leave_one_dyad_out_drops_each_dyad(sample):
    loo = h1.leave_one_dyad_out(sample)
    assert set(loo["left_out"]) == set(sample["dyad"])
    row = loo.set_index("left_out").loc["RUS-UKR"]
    rest = sample.loc[sample["dyad"] != "RUS-UKR", "log_ratio_allied"]
    assert row["estimate"] == pytest.approx(rest.mean()) and row["n"] == 8


def test_subsamples_and_bounds(sample):
    subs = h1.subsample_table(sample).set_index("sample")
    assert subs.loc["without Russia-Ukraine", "n"] == 8
    assert subs.loc["without Israel's (Arab-Israeli) dyads", "n"] == 13
    assert subs.loc["exact counts", "n"] == 10
    assert np.isnan(subs.loc["from deal totals"].get("estimate", np.nan))  # none: no estimate
    with_missing = pd.concat(
        [sample, sample.iloc[:2].assign(log_ratio_allied=np.nan, deal_id=["m1", "m2"])]
    )
    b = h1.bounds(with_missing)
    y = sample["log_ratio_allied"]
    assert b["lower"] == pytest.approx((y.sum() + 2 * y.min()) / 18)
    assert b["upper"] == pytest.approx((y.sum() + 2 * y.max()) / 18)
    assert b["missing_by_dyad"] == {"RUS-UKR": 2}


def test_h1_needs_three_dyads(sample):
    with pytest.raises(AnalysisError, match="H1 needs at least 3 deals in 3 dyads"):
        h1.cr2_mean(sample[sample["dyad"].isin(["RUS-UKR", "ISR-SYR"])])


def test_conclusion_is_generated_from_the_numbers(sample):
    res = h1.h1_inference(sample)
    text = h1.conclusion(
        res["primary"], h1.subsample_table(sample), h1.leave_one_dyad_out(sample), res["signflip"]
    )
    assert f"{res['primary'].estimate:.2f}" in text and "effective clusters" in text
