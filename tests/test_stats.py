"""Tests of research.stats against hand computations and independent references."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from research import stats as rs
from research.exceptions import AnalysisError, ResearchError

# --------------------------------------------------------------------------- Result


def test_result_str_is_one_readable_line():
    r = rs.Result(
        "log-ratio gap", -0.84, -1.6, -0.08, 0.031, 120, 35, "OLS, SE clustered by dyad", "H1"
    )
    assert str(r) == (
        "H1 log-ratio gap: -0.84 [95% CI -1.60, -0.08], p = 0.031, n = 120, clusters = 35 "
        "(OLS, SE clustered by dyad)"
    )


def test_result_str_without_ci_p_or_clusters_and_other_level():
    r = rs.Result("chi2", 3.2, None, None, 0.0004, 21, None, "log-rank")
    assert str(r) == "chi2: 3.20, p < 0.001, n = 21 (log-rank)"
    r90 = rs.Result("m", 1.0, 0.5, 1.5, None, 9, None, "bootstrap", extra=(("level", 0.9),))
    assert str(r90) == "m: 1.00 [90% CI 0.50, 1.50], n = 9 (bootstrap)"


def test_result_is_frozen_and_tabulates():
    r = rs.Result("gap", 1.0, 0.0, 2.0, 0.5, 10, 4, "OLS", "H2", extra=(("se", 0.5),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.estimate = 2.0  # type: ignore[misc]
    assert r.to_dict() == {
        "name": "gap",
        "estimate": 1.0,
        "ci_low": 0.0,
        "ci_high": 2.0,
        "p": 0.5,
        "n": 10,
        "n_clusters": 4,
        "method": "OLS",
        "hypothesis": "H2",
        "extra": {"se": 0.5},
    }
    frame = r.to_frame()
    assert frame.shape == (1, 10)
    assert frame.loc[0, "se"] == 0.5 and frame.loc[0, "hypothesis"] == "H2"


def test_result_extra_keys_may_not_shadow_fields():
    with pytest.raises(ValueError, match="shadow"):
        rs.Result("x", 1.0, None, None, None, 1, None, "m", extra=(("p", 0.1),))


# --------------------------------------------------------------------------- permutation

TINY = pd.DataFrame(
    {
        "y": [1.2, 3.4, 2.2, 5.0, 4.1, 0.3],
        "treated": [False, True, False, True, True, False],
    }
)


def _enumerated_p(y: np.ndarray, n_treated: int, observed: float) -> float:
    """Exact two-sided p: share of all C(n, k) relabelings at least as extreme."""
    diffs = []
    for idx in itertools.combinations(range(len(y)), n_treated):
        mask = np.isin(np.arange(len(y)), idx)
        diffs.append(y[mask].mean() - y[~mask].mean())
    return float(np.mean(np.abs(diffs) >= abs(observed) - 1e-12))


def test_permutation_exact_matches_enumeration():
    r = rs.permutation_test(TINY, "y", "treated")
    # Treated mean 12.5/3, control 3.7/3: difference 8.8/3. Only this labelling and its
    # mirror reach |8.8/3| (the three largest vs the three smallest), so p = 2/20.
    assert r.estimate == pytest.approx(8.8 / 3, abs=1e-12)
    assert r.p == pytest.approx(_enumerated_p(TINY["y"].to_numpy(), 3, 8.8 / 3), abs=1e-15)
    assert r.p == pytest.approx(0.1, abs=1e-15)
    assert dict(r.extra)["exact"] is True and dict(r.extra)["n_relabelings"] == 20


def test_permutation_exact_with_ties_in_the_statistic():
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "g": [1, 0, 1, 0, 1, 0]})
    r = rs.permutation_test(df, "y", "g")
    assert r.estimate == pytest.approx(-1.0)
    assert r.p == pytest.approx(_enumerated_p(df["y"].to_numpy(), 3, -1.0), abs=1e-15)


def test_permutation_monte_carlo_is_close_to_exact_and_deterministic():
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"y": rng.normal(size=16), "g": np.repeat([True, False], 8)})
    df.loc[df["g"], "y"] += 0.6
    r = rs.permutation_test(df, "y", "g", n_resamples=9999, seed=3)
    assert dict(r.extra)["exact"] is False  # C(16, 8) = 12870 > 9999
    exact = _enumerated_p(df["y"].to_numpy(), 8, r.estimate)  # treated are the first 8
    assert abs(r.p - exact) < 4 * math.sqrt(exact * (1 - exact) / 9999)
    assert r.p * 10000 == pytest.approx(round(r.p * 10000), abs=1e-9)  # (count + 1) / 10000
    assert rs.permutation_test(df, "y", "g", seed=3).p == r.p
    assert rs.permutation_test(df, "y", "g", seed=4).p != r.p


def test_permutation_by_cluster_matches_cluster_level_enumeration():
    # Five clusters of unequal size; treatment assigned to whole clusters (c1 and c3).
    df = pd.DataFrame(
        {
            "y": [1.0, 2.0, 4.0, 5.0, 6.5, 0.5, 3.0, 2.5, 7.0],
            "c": ["c1", "c1", "c2", "c3", "c3", "c3", "c4", "c5", "c5"],
        }
    )
    df["g"] = df["c"].isin(["c1", "c3"])
    r = rs.permutation_test(df, "y", "g", cluster="c")
    clusters = df["c"].unique()
    diffs = []
    for chosen in itertools.combinations(clusters, 2):  # all C(5, 2) = 10 assignments
        mask = df["c"].isin(chosen)
        diffs.append(df.loc[mask, "y"].mean() - df.loc[~mask, "y"].mean())
    observed = df.loc[df["g"], "y"].mean() - df.loc[~df["g"], "y"].mean()
    assert r.estimate == pytest.approx(observed, abs=1e-12)
    assert r.p == pytest.approx(np.mean(np.abs(diffs) >= abs(observed) - 1e-12), abs=1e-15)
    assert r.n == 9 and r.n_clusters == 5


def test_permutation_errors():
    with pytest.raises(AnalysisError, match="varies within cluster"):
        rs.permutation_test(TINY.assign(c=[1, 1, 2, 2, 3, 3]), "y", "treated", cluster="c")
    with pytest.raises(AnalysisError, match="no variation"):
        rs.permutation_test(TINY.assign(treated=True), "y", "treated")
    with pytest.raises(AnalysisError, match="must be boolean"):
        rs.permutation_test(TINY, "treated", "y")
    with pytest.raises(AnalysisError, match=r"column 'z' is not in the data; .*y, treated"):
        rs.permutation_test(TINY, "z", "treated")


def test_permutation_drops_missing_rows():
    df = pd.concat([TINY, pd.DataFrame({"y": [np.nan], "treated": [True]})], ignore_index=True)
    r = rs.permutation_test(df, "y", "treated")
    assert r.n == 6 and r.p == pytest.approx(0.1, abs=1e-15)


# --------------------------------------------------------------------------- OLS


@pytest.fixture
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n, g = 120, 15
    dyad = rng.integers(0, g, n)
    shock = rng.normal(size=g)[dyad]
    x = rng.normal(size=n) + 0.5 * shock
    df = pd.DataFrame(
        {
            "y": 0.4 * x + shock + rng.normal(size=n),
            "x": x,
            "allied": rng.random(n) < 0.5,
            "dyad": [f"d{k}" for k in dyad],
            "unused": rng.normal(size=n),
        }
    )
    df.loc[[0, 5], "y"] = np.nan
    df.loc[7, "unused"] = np.nan  # not in the formula: the row must be kept
    return df


def test_ols_clustered_matches_statsmodels_and_hand_cr1(panel):
    r = rs.ols_clustered(panel, "y ~ x + allied", "x", "dyad", name="slope", hypothesis="H1")
    data = panel.dropna(subset=["y", "x", "allied", "dyad"])
    direct = smf.ols("y ~ x + allied", data=data).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data["dyad"])[0]}, use_t=True
    )
    assert r.estimate == pytest.approx(direct.params["x"], abs=1e-12)
    assert (r.ci_low, r.ci_high) == pytest.approx(tuple(direct.conf_int().loc["x"]), abs=1e-12)
    assert r.p == pytest.approx(direct.pvalues["x"], abs=1e-12)
    assert r.n == 118 and r.n_clusters == 15
    # CR1 by hand: (X'X)^-1 [sum_g X_g' u_g u_g' X_g] (X'X)^-1 * G/(G-1) * (N-1)/(N-K).
    X = np.column_stack([np.ones(len(data)), data["allied"].astype(float), data["x"]])
    u = data["y"].to_numpy() - X @ np.linalg.lstsq(X, data["y"].to_numpy(), rcond=None)[0]
    bread = np.linalg.inv(X.T @ X)
    meat = sum(
        np.outer(X[m].T @ u[m], X[m].T @ u[m]) for m in (data["dyad"] == d for d in set(data.dyad))
    )
    big_n, k, g = len(data), 3, 15
    cov = bread @ meat @ bread * g / (g - 1) * (big_n - 1) / (big_n - k)
    se = math.sqrt(cov[2, 2])
    assert dict(r.extra)["se"] == pytest.approx(se, rel=1e-10)
    tcrit = sps.t.ppf(0.975, g - 1)  # t with G - 1 df
    assert r.ci_high - r.estimate == pytest.approx(tcrit * se, rel=1e-10)
    assert r.p == pytest.approx(2 * sps.t.sf(abs(r.estimate) / se, g - 1), rel=1e-10)
    assert str(r).startswith("H1 slope: ") and "clusters = 15 (OLS, SE clustered by dyad)" in str(r)


def test_ols_clustered_fit_returns_the_statsmodels_results(panel):
    fit = rs.ols_clustered_fit(panel, "y ~ x", "dyad")
    assert fit.cov_type == "cluster" and int(fit.nobs) == 118
    assert list(fit.params.index) == ["Intercept", "x"]


def test_ols_clustered_errors(panel):
    with pytest.raises(AnalysisError, match=r"'allied' is not in the model; .*allied\[T.True\]"):
        rs.ols_clustered(panel, "y ~ x + allied", "allied", "dyad")
    few = panel.assign(dyad=np.where(panel.index % 2 == 0, "a", "b"))
    with pytest.raises(AnalysisError, match="at least 3 clusters; column 'dyad' has 2"):
        rs.ols_clustered(few, "y ~ x", "x", "dyad")
    with pytest.raises(AnalysisError, match=r"column 'pair' is not in the data; .*dyad"):
        rs.ols_clustered(panel, "y ~ x", "x", "pair")
    with pytest.raises(
        AnalysisError, match=r"(?s)cannot build the model 'y ~ zz'.*Available columns"
    ):
        rs.ols_clustered(panel, "y ~ zz", "x", "dyad")
    with pytest.raises(AnalysisError, match="rank-deficient"):
        rs.ols_clustered(panel.assign(k=1.0), "y ~ x + k", "x", "dyad")


# --------------------------------------------------------------------------- bootstrap


def _mean_y(d: pd.DataFrame) -> float:
    return float(d["y"].mean())


def test_bootstrap_is_deterministic_under_a_seed(panel):
    data = panel.dropna(subset=["y"])
    a = rs.bootstrap_ci(data, _mean_y, n_resamples=500, seed=1)
    b = rs.bootstrap_ci(data, _mean_y, n_resamples=500, seed=1)
    c = rs.bootstrap_ci(data, _mean_y, n_resamples=500, seed=2)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert (a.ci_low, a.ci_high) != (c.ci_low, c.ci_high)
    assert a.estimate == _mean_y(data) and a.ci_low < a.estimate < a.ci_high
    assert a.name == "_mean_y" and a.n_clusters is None


def test_bootstrap_level_controls_width(panel):
    data = panel.dropna(subset=["y"])
    wide = rs.bootstrap_ci(data, _mean_y, n_resamples=500, level=0.95)
    narrow = rs.bootstrap_ci(data, _mean_y, n_resamples=500, level=0.5)
    assert narrow.ci_high - narrow.ci_low < wide.ci_high - wide.ci_low
    assert narrow.level == 0.5 and "[50% CI" in str(narrow)


def test_cluster_bootstrap_resamples_whole_clusters():
    # Three rows per cluster, y constant within a cluster: drawing whole clusters is the same
    # as drawing rows of the collapsed one-row-per-cluster frame, with the same random draws.
    values = [0.5, 2.0, -1.0, 3.5, 1.0, 0.0, 4.0]
    wide = pd.DataFrame({"c": np.repeat(list("abcdefg"), 3), "y": np.repeat(values, 3)})
    collapsed = pd.DataFrame({"c": list("abcdefg"), "y": values})
    by_cluster = rs.bootstrap_ci(wide, _mean_y, n_resamples=300, seed=5, cluster="c")
    by_row = rs.bootstrap_ci(collapsed, _mean_y, n_resamples=300, seed=5)
    assert (by_cluster.ci_low, by_cluster.ci_high) == pytest.approx(
        (by_row.ci_low, by_row.ci_high), abs=1e-12
    )
    assert by_cluster.n == 21 and by_cluster.n_clusters == 7
    # Resampling rows would ignore the clustering and give a narrower interval.
    naive = rs.bootstrap_ci(wide, _mean_y, n_resamples=300, seed=5)
    assert naive.ci_high - naive.ci_low < by_cluster.ci_high - by_cluster.ci_low


def test_bootstrap_errors(panel):
    with pytest.raises(AnalysisError, match="not finite in"):
        rs.bootstrap_ci(panel, lambda d: d["y"].mean() if d["y"].notna().all() else np.nan)
    with pytest.raises(AnalysisError, match="single number"):
        rs.bootstrap_ci(panel, lambda d: d["y"])
    with pytest.raises(AnalysisError, match="0 < level < 1"):
        rs.bootstrap_ci(panel, _mean_y, level=95)
    with pytest.raises(AnalysisError, match="column 'pair' is not in the data"):
        rs.bootstrap_ci(panel, _mean_y, cluster="pair")


# --------------------------------------------------------------------------- BH


def test_bh_adjust_by_hand():
    # Five non-missing p-values; ranked: 0.005 (1), 0.01 (2), 0.03 (3), 0.04 (4), 0.045 (5).
    # p * m / rank: 0.025, 0.025, 0.05, 0.05, 0.045; running minimum from the top:
    # 0.025, 0.025, 0.045, 0.045, 0.045 (the 0.05s are pulled down: monotone).
    p = [0.01, 0.04, 0.03, 0.005, np.nan, 0.045]
    expected = [0.025, 0.045, 0.045, 0.025, np.nan, 0.045]
    np.testing.assert_allclose(rs.bh_adjust(p), expected, rtol=0, atol=1e-15)


def test_bh_adjust_against_statsmodels():
    rng = np.random.default_rng(9)
    p = np.concatenate([rng.uniform(size=30), rng.uniform(0, 0.01, 10), [1.0, 0.0]])
    ours = rs.bh_adjust(p)
    np.testing.assert_allclose(ours, multipletests(p, method="fdr_bh")[1], rtol=0, atol=1e-15)
    order = np.argsort(p)
    assert np.all(np.diff(ours[order]) >= 0) and ours.max() <= 1.0 and np.all(ours >= p)


def test_bh_adjust_edges():
    assert rs.bh_adjust([]).shape == (0,)
    assert np.isnan(rs.bh_adjust([np.nan, np.nan])).all()
    with pytest.raises(AnalysisError, match=r"must lie in \[0, 1\]"):
        rs.bh_adjust([0.2, 1.5])


def test_analysis_error_is_a_research_error():
    with pytest.raises(ResearchError):
        rs.bh_adjust([-0.1])


# --------------------------------------------------------------------------- sign-flip test


def test_signflip_exact_matches_enumeration_by_hand():
    # values 1, 2, -0.5: mean 2.5/3. The 8 sign patterns give |sums| of
    # 3.5, 2.5, 1.5, 0.5 (each twice: +/-); |sum| >= 2.5 in 4 of 8, so p = 0.5.
    df = pd.DataFrame({"y": [1.0, 2.0, -0.5]})
    res = rs.signflip_test(df, "y")
    assert res.estimate == pytest.approx(2.5 / 3)
    assert res.p == pytest.approx(0.5)
    assert "exact over 8" in res.method


def test_signflip_by_cluster_flips_whole_clusters():
    # clusters: a = {1, 1}, b = {3}: sums 2 and 3, total n = 3. Patterns: 5, -1, 1, -5;
    # |.| >= 5 in 2 of 4, p = 0.5.
    df = pd.DataFrame({"y": [1.0, 1.0, 3.0], "g": ["a", "a", "b"]})
    res = rs.signflip_test(df, "y", cluster="g")
    assert res.p == pytest.approx(0.5) and res.n == 3 and res.n_clusters == 2


def test_signflip_monte_carlo_is_deterministic_and_close_to_exact(rng):
    df = pd.DataFrame({"y": rng.normal(0.4, 1.0, size=16)})
    exact = rs.signflip_test(df, "y", n_resamples=2**16)
    mc1 = rs.signflip_test(df, "y", n_resamples=4000, seed=1, exact=False)
    mc2 = rs.signflip_test(df, "y", n_resamples=4000, seed=1, exact=False)
    assert mc1 == mc2
    assert abs(mc1.p - exact.p) < 0.03


def test_signflip_needs_two_units():
    with pytest.raises(AnalysisError, match="at least two units; got 1"):
        rs.signflip_test(pd.DataFrame({"y": [1.0]}), "y")


def test_bh_adjust_matches_r_p_adjust():
    # p.adjust(c(0.01, 0.04, 0.03, 0.2, 0.5, 0.001, 0.049), method = "BH")
    # (tests/reference/h1_inference.R)
    p = [0.01, 0.04, 0.03, 0.2, 0.5, 0.001, 0.049]
    r = [0.035, 0.0686, 0.0686, 0.233333333333333, 0.5, 0.007, 0.0686]
    np.testing.assert_allclose(rs.bh_adjust(p), r, rtol=0, atol=1e-15)
