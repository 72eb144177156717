"""Distinct specifications and the joint sign-flip test of the curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research import speccurve as sc


def _oriented(rng, shift=0.0, n=24):
    dyads = [f"d{i % 8}" for i in range(n)]
    return pd.DataFrame(
        {
            "deal_id": [f"x{i}" for i in range(n)],
            "dyad": dyads,
            "log_ratio_allied": rng.normal(shift, 1, n),
            "all_for_all": [False] * n,
            "both_states": [True] * (n - 4) + [False] * 4,
            "counts_exact": pd.array([True] * n, dtype="boolean"),
            "counts_disputed": pd.array([False] * n, dtype="boolean"),
            "counts_complete": pd.array([True] * n, dtype="boolean"),
        }
    )


def test_identical_samples_collapse(rng):
    o = _oriented(rng)
    specs = sc.h1_curve({("defense_pact", False): o, ("nato", False): o.copy()})
    # "all deals", "no all-for-all" and "exact, undisputed, complete" are the same sample, as
    # are the two definitions; "without Russia-Ukraine" too (no such dyad): 2 samples x 2
    assert len(specs) == 4
    assert specs["n_labels"].sum() == 2 * len(sc.SAMPLES) * len(sc.ESTIMATORS)
    assert set(specs["n"]) == {24, 20}
    assert set(specs["clusters"]) == {8}


def test_joint_test_is_deterministic_and_detects_a_real_shift(rng):
    null_specs = sc.h1_curve({("defense_pact", False): _oriented(rng)})
    strong = sc.h1_curve({("defense_pact", False): _oriented(rng, shift=-1.5)})
    j1 = sc.joint_test(strong, n_resamples=500, seed=3)
    assert j1.equals(sc.joint_test(strong, n_resamples=500, seed=3))
    assert j1.loc[0, "p"] < 0.05  # |median| is extreme under the flips
    assert sc.joint_test(null_specs, n_resamples=500, seed=3).loc[0, "p"] > 0.01
    summary = sc.direction_summary(strong, -1)
    assert summary["share_predicted_sign"] == 1.0 and summary["n_significant_opposite"] == 0


def test_flipped_cr2_equals_a_fresh_fit(rng):
    from research import inference as inf

    specs = sc.h1_curve({("defense_pact", False): _oriented(rng)})
    spec = specs[specs["estimator"] == sc.ESTIMATORS[0]].iloc[[0]]
    data = spec["data"].iloc[0]
    dyads = sorted(data["dyad"].unique())
    signs = rng.choice([-1.0, 1.0], size=(3, len(dyads)))
    est, p = sc._flipped_curve(spec, signs, {d: i for i, d in enumerate(dyads)})
    for k in range(3):
        flip = data["dyad"].map(dict(zip(dyads, signs[k]))).to_numpy()
        t = inf.cr2_fit(data["log_ratio_allied"].to_numpy() * flip, data["dyad"]).test()
        assert est[k, 0] == pytest.approx(t["estimate"]) and p[k, 0] == pytest.approx(t["p"])


def test_collapse_identical_for_curves_computed_elsewhere():
    h2 = pd.DataFrame(
        {
            "definition": ["a", "b", "c"],
            "bound": ["days"] * 3,
            "estimate": [0.1, 0.1, 0.3],
            "ci_low": [0.0, 0.0, 0.1],
            "ci_high": [0.2, 0.2, 0.5],
            "p": [0.5, 0.5, 0.01],
            "n": [10, 10, 10],
            "clusters": [5, 5, 5],
        }
    )
    out = sc.collapse_identical(h2, ["definition", "bound"])
    assert len(out) == 2 and out.loc[0, "labels"] == "a | days ; b | days"
    assert np.array_equal(out["n_labels"], [2, 1])
