"""CR2 with Bell–McCaffrey df, the exact sign-flip enumeration, G*, and the two-way and
dyadic checks. R values from tests/reference/h1_inference.R (clubSandwich 0.5, R 4.2)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from research import inference as inf
from research.exceptions import AnalysisError
from research.randomization import signflip_pvalue_exact, signflip_test

Y = np.array([-1.2, 0.3, 0.0, 0.0, 0.4, -0.7, 2.1, -0.3, 0.0, 0.9, -1.6, 0.2, 0.5, -0.4])
G = list("aaaaaabbcddeff")
X = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0], dtype=float)


def test_cr2_mean_matches_clubsandwich():
    # coef_test(lm(y ~ 1), vcov = "CR2", cluster = g, test = "Satterthwaite")
    t = inf.cr2_fit(Y, G).test()
    assert t["estimate"] == pytest.approx(0.0142857142857, abs=1e-12)
    assert t["se"] == pytest.approx(0.191881264525, rel=1e-10)
    assert t["df"] == pytest.approx(3.1937007874, rel=1e-9)
    assert t["p"] == pytest.approx(0.945072431762, rel=1e-9)
    shifted = inf.cr2_fit(Y + 0.5, G).test()
    assert shifted["p"] == pytest.approx(0.0701642638205, rel=1e-9)


def test_cr2_regression_matches_clubsandwich():
    fit = inf.cr2_fit(Y, G, np.column_stack([np.ones_like(X), X]))
    t0, t1 = fit.test(0), fit.test(1)
    assert t0["se"] == pytest.approx(0.0856150218875, rel=1e-10)
    assert t0["df"] == pytest.approx(3.0, rel=1e-9)
    assert t0["p"] == pytest.approx(0.465330059968, rel=1e-9)
    assert t1["estimate"] == pytest.approx(0.1714285714286, rel=1e-10)
    assert t1["se"] == pytest.approx(0.5107484171079, rel=1e-10)
    assert t1["df"] == pytest.approx(3.15450643777, rel=1e-9)
    assert t1["p"] == pytest.approx(0.758233870702, rel=1e-9)


def test_cr2_with_cluster_fixed_effects_matches_clubsandwich():
    # coef_test(lm(y ~ x2 + factor(g)), vcov = "CR2", cluster = g, test = "Satterthwaite")
    x2 = np.array([0, 1, 2, 3, 4, 5, 0, 1, 0, 0, 1, 0, 0, 1], dtype=float)
    dummies = pd.get_dummies(G, dtype=float).to_numpy()
    t = inf.cr2_fit(Y, G, np.column_stack([x2, dummies])).test(0)
    assert t["estimate"] == pytest.approx(-0.0789473684211, rel=1e-10)
    assert t["se"] == pytest.approx(0.52911253139, rel=1e-10)
    assert t["df"] == pytest.approx(1.11572942135, rel=1e-9)
    assert t["p"] == pytest.approx(0.903729636319, rel=1e-9)


def test_cr2_with_singleton_clusters_is_hc2_and_needs_two_clusters():
    rng = np.random.default_rng(5)
    y = rng.normal(size=9)
    t = inf.cr2_fit(y, range(9)).test()
    # HC2 for a mean: leverage 1/n, so Var = sum(e^2) / (n (n - 1)): the classical SE
    assert t["se"] == pytest.approx(y.std(ddof=1) / 3, rel=1e-12)
    assert t["df"] == pytest.approx(8, rel=1e-9)
    with pytest.raises(AnalysisError, match="at least two clusters"):
        inf.cr2_fit([1.0, 2.0], ["a", "a"])


def test_signflip_matches_r_enumeration():
    df = pd.DataFrame({"y": Y, "g": G})
    assert signflip_test(df, "y", "g").p == pytest.approx(0.9375)
    assert signflip_test(df, "y", "g", cluster_weighted=True).p == pytest.approx(0.75)
    assert signflip_test(df.assign(y=Y + 0.5), "y", "g").p == pytest.approx(0.03125)


def test_meet_in_the_middle_equals_brute_force():
    rng = np.random.default_rng(11)
    for g_count in (1, 2, 5, 9, 12):
        x = rng.normal(0.3, 1, g_count).round(1)  # rounding makes ties at |T| common
        signs = np.array(list(itertools.product([-1, 1], repeat=g_count)))
        brute = np.mean(np.abs(signs @ x) >= abs(x.sum()) - 1e-9)
        p, total = signflip_pvalue_exact(x, x.sum())
        assert total == 2**g_count and p == pytest.approx(brute, abs=1e-15)


def test_exact_enumeration_of_30_clusters_is_used_and_bounded():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"y": rng.normal(0.2, 1, 60), "g": np.repeat(np.arange(30), 2)})
    res = signflip_test(df, "y", "g")
    assert "exact over 1073741824 sign patterns" in res.method
    mc = signflip_test(df, "y", "g", n_resamples=20000, exact=False, seed=3)
    assert abs(mc.p - res.p) < 0.02
    with pytest.raises(AnalysisError, match="limited to 40 clusters"):
        signflip_pvalue_exact(np.ones(41), 41.0)


def test_effective_clusters():
    # one cluster of 10 and ten of 1: gamma = (100, 1 x 10), Gamma = 8.1, G* = 11 / 9.1
    labels = ["a"] * 10 + list("bcdefghijk")
    assert inf.effective_clusters(labels) == pytest.approx(11 / 9.1)
    assert inf.effective_clusters(list("abcdef")) == pytest.approx(6.0)  # balanced: G* = G
    # rho = 0 with a constant: gamma_g is the cluster size, (10, 1 x 10): mean 20/11,
    # variance 8910/1331, Gamma = 2.025, G* = 11 / 3.025
    assert inf.effective_clusters(labels, rho=0.0) == pytest.approx(11 / 3.025)


def test_dyadic_se_reduces_to_cluster_robust_when_dyads_share_no_state():
    # dyads a-b, c-d, e-f share no state: dyadic = one-way CR0 by dyad times S / (S - 1)
    y = np.array([1.0, 2.0, -1.0, 0.5, 3.0, 0.0])
    members = [("A", "B"), ("A", "B"), ("C", "D"), ("C", "D"), ("E", "F"), ("E", "F")]
    e = y - y.mean()
    sums = np.array([e[0] + e[1], e[2] + e[3], e[4] + e[5]])
    expect = np.sqrt(np.sum(sums**2) / 36 * 6 / 5)
    assert inf.dyadic_se(y, members)["se"] == pytest.approx(expect)
    # a shared state links two dyads: their cross products now count
    linked = [("A", "B"), ("A", "B"), ("A", "D"), ("A", "D"), ("E", "F"), ("E", "F")]
    cross = (sums[0] + sums[1]) ** 2 + sums[2] ** 2
    assert inf.dyadic_se(y, linked)["se"] == pytest.approx(np.sqrt(cross / 36 * 5 / 4))


def test_twoway_se_matches_sandwich_vcovcl():
    # sqrt(vcovCL(lm(y ~ 1), cluster = ~ f1 + f2)[1, 1]) (tests/reference/h1_inference.R)
    f1 = list("AAAAAABBCAAEBB")
    f2 = list("uuvvuwwxxyyuvx")
    assert inf.twoway_se(Y, f1, f2)["se"] == pytest.approx(0.186400299082, rel=1e-9)


def test_twoway_se_is_finite_and_named():
    rng = np.random.default_rng(4)
    y = rng.normal(size=40)
    first = rng.integers(0, 6, 40)
    second = rng.integers(0, 8, 40)
    out = inf.twoway_se(y, first, second)
    assert out["estimate"] == pytest.approx(y.mean())
    assert out["se"] > 0 and out["df"] == 5
