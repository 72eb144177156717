"""Tests of research.survival against hand computations and independent references."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as F

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from research import survival as sv
from research.exceptions import AnalysisError

# --------------------------------------------------------------------------- Kaplan–Meier

# Ten subjects in two groups (1 = event, 0 = censored):
#   A: 3 (1), 5 (1), 5 (0), 8 (1), 10 (0)
#   B: 2 (1), 4 (0), 6 (1), 6 (1), 9 (1)
DUR = np.array([3, 5, 5, 8, 10, 2, 4, 6, 6, 9], dtype=float)
EVT = np.array([1, 1, 0, 1, 0, 1, 0, 1, 1, 1])
GRP = np.array(["A"] * 5 + ["B"] * 5)

# Pooled Kaplan–Meier by hand, S(t) = prod (1 - d/n); Greenwood sum G(t) = sum d / (n (n - d)):
#   t   n  d  c   S(t)                          d/(n(n-d))
#   2  10  1  0   9/10                          1/90
#   3   9  1  0   9/10 * 8/9  = 4/5             1/72
#   4   8  0  1   4/5                           0
#   5   7  1  1   4/5 * 6/7   = 24/35           1/42
#   6   5  2  0   24/35 * 3/5 = 72/175          2/15
#   8   3  1  0   72/175 * 2/3 = 48/175         1/6
#   9   2  1  0   48/175 * 1/2 = 24/175         1/2
#  10   1  0  1   24/175                        0
HAND_TIME = [2, 3, 4, 5, 6, 8, 9, 10]
HAND_RISK = [10, 9, 8, 7, 5, 3, 2, 1]
HAND_EVENTS = [1, 1, 0, 1, 2, 1, 1, 0]
HAND_CENSORED = [0, 0, 1, 1, 0, 0, 0, 1]
HAND_S = [F(9, 10), F(4, 5), F(4, 5), F(24, 35), F(72, 175), F(48, 175), F(24, 175), F(24, 175)]
HAND_G = list(
    itertools.accumulate([F(1, 90), F(1, 72), F(0), F(1, 42), F(2, 15), F(1, 6), F(1, 2), F(0)])
)


def test_kaplan_meier_matches_hand_computation():
    km = sv.kaplan_meier(DUR, EVT)
    assert list(km.columns) == [
        "time",
        "n_at_risk",
        "n_events",
        "n_censored",
        "survival",
        "se",
        "ci_low",
        "ci_high",
    ]
    assert km["time"].tolist() == HAND_TIME
    assert km["n_at_risk"].tolist() == HAND_RISK
    assert km["n_events"].tolist() == HAND_EVENTS
    assert km["n_censored"].tolist() == HAND_CENSORED
    s = np.array([float(x) for x in HAND_S])
    se = s * np.sqrt([float(g) for g in HAND_G])  # Greenwood: SE(S) = S sqrt(G)
    np.testing.assert_allclose(km["survival"], s, rtol=0, atol=1e-12)
    np.testing.assert_allclose(km["se"], se, rtol=0, atol=1e-12)


def test_kaplan_meier_log_log_band_by_hand_and_against_statsmodels():
    km = sv.kaplan_meier(DUR, EVT)
    # log(-log) band at t = 6: S = 72/175, G = 1/90 + 1/72 + 1/42 + 2/15 = 51/280
    s, g = 72 / 175, 51 / 280
    assert F(1, 90) + F(1, 72) + F(1, 42) + F(2, 15) == F(51, 280)
    half = 1.959963984540054 * math.sqrt(g) / abs(math.log(s))
    row = km.set_index("time").loc[6]
    assert row["ci_low"] == pytest.approx(s ** math.exp(half), abs=1e-12)
    assert row["ci_high"] == pytest.approx(s ** math.exp(-half), abs=1e-12)
    assert row["ci_low"] < s < row["ci_high"]
    # Same survival and Greenwood SE as statsmodels at the event times.
    sf = SurvfuncRight(DUR, EVT)
    events = km[km["n_events"] > 0]
    np.testing.assert_allclose(events["survival"], sf.surv_prob, atol=1e-12)
    np.testing.assert_allclose(events["se"], sf.surv_prob_se, atol=1e-12)


def test_kaplan_meier_band_edges_when_survival_is_one_or_zero():
    km = sv.kaplan_meier([1, 2, 3, 3], [0, 1, 1, 1])
    # t=1: censored only, S = 1, band [1, 1]; t=3: both remaining die, S = 0, band [0, 0].
    assert km.loc[0, ["survival", "ci_low", "ci_high"]].tolist() == [1.0, 1.0, 1.0]
    assert km.loc[2, ["survival", "ci_low", "ci_high"]].tolist() == [0.0, 0.0, 0.0]
    assert np.isnan(km.loc[2, "se"])


def test_km_median_and_brookmeyer_crowley_interval():
    km = sv.kaplan_meier(DUR, EVT)
    median, low, high = sv.km_median(DUR, EVT)
    # First time with S <= 0.5 is t = 6 (S = 72/175 = 0.41).
    assert median == 6.0
    # The CI limits are the first times each band reaches 0.5.
    assert low == km["time"][km["ci_low"] <= 0.5].iloc[0]
    assert np.isnan(high) == (km["ci_high"] > 0.5).all()
    # statsmodels inverts the same cloglog test (SAS LIFETEST): identical limits.
    sm_low, sm_high = SurvfuncRight(DUR, EVT).quantile_ci(0.5)
    assert low == sm_low
    assert high == sm_high if np.isfinite(sm_high) else np.isnan(high)


def test_km_median_not_reached_is_nan():
    median, low, high = sv.km_median([5, 6, 7, 8], [1, 0, 0, 0])
    assert np.isnan(median) and np.isnan(high)
    # S(5) = 3/4 and the lower log(-log) band there, 0.75 ** exp(1.96 sqrt(1/12) / -log 0.75),
    # is about 0.13 <= 0.5: the lower limit is reached although the median is not.
    assert low == 5.0


@pytest.mark.parametrize(
    ("durations", "events", "message"),
    [
        ([1, 2], [1], "equal length"),
        ([1, -2], [1, 0], "non-negative"),
        ([1, np.nan], [1, 0], "non-negative"),
        ([1, 2], [1, 2], "events must be 1/0"),
    ],
)
def test_survival_inputs_are_validated(durations, events, message):
    with pytest.raises(AnalysisError, match=message):
        sv.kaplan_meier(durations, events)


# --------------------------------------------------------------------------- log-rank

# Log-rank by hand for group A (at risk n_A, n; events d_A, d at each event time):
#   t  n_A n_B  n  d  O_A  E_A = d n_A / n   V = d (n-d)/(n-1) * n_A/n * n_B/n
#   2   5   5  10  1   0   1/2               1 * 9/9 * 5/10 * 5/10 = 1/4
#   3   5   4   9  1   1   5/9               1 * 8/8 * 5/9 * 4/9   = 20/81
#   5   4   3   7  1   1   4/7               1 * 6/6 * 4/7 * 3/7   = 12/49
#   6   2   3   5  2   0   4/5               2 * 3/4 * 2/5 * 3/5   = 9/25
#   8   2   1   3  1   1   2/3               1 * 2/2 * 2/3 * 1/3   = 2/9
#   9   1   1   2  1   0   1/2               1 * 1/1 * 1/2 * 1/2   = 1/4
# (t = 4 and t = 10 have no events.) O_A = 3, E_A = 1132/315, V = 312367/198450, so
# chi2 = (O_A - E_A)^2 / V = (-187/315)^2 / (312367/198450) = 6358/28397 = 0.2238969...
HAND_O_A = 3
HAND_E_A = F(1, 2) + F(5, 9) + F(4, 7) + F(4, 5) + F(2, 3) + F(1, 2)
HAND_V = F(1, 4) + F(20, 81) + F(12, 49) + F(9, 25) + F(2, 9) + F(1, 4)
HAND_CHI2 = float((HAND_O_A - HAND_E_A) ** 2 / HAND_V)


def test_logrank_matches_hand_computation():
    r = sv.logrank_test(DUR, EVT, GRP)
    assert F(6358, 28397) == (HAND_O_A - HAND_E_A) ** 2 / HAND_V  # the sums above
    assert r.estimate == pytest.approx(HAND_CHI2, abs=1e-10)
    assert r.p == pytest.approx(sps.chi2.sf(HAND_CHI2, 1), abs=1e-10)
    extra = dict(r.extra)
    assert extra["groups"] == ("A", "B") and extra["df"] == 1
    assert extra["observed"] == (3, 4)
    assert extra["expected"][0] == pytest.approx(float(HAND_E_A), abs=1e-10)
    assert sum(extra["expected"]) == pytest.approx(7, abs=1e-10)  # 7 events in all
    assert r.n == 10 and r.ci_low is None


def test_logrank_three_groups_against_statsmodels():
    rng = np.random.default_rng(20240801)
    t = np.round(rng.exponential(10, 90))
    e = rng.random(90) < 0.7
    g = rng.choice(["x", "y", "z"], 90)
    sm_stat, sm_p = survdiff(t, e, g)
    r = sv.logrank_test(t, e, g)
    assert r.estimate == pytest.approx(sm_stat, abs=1e-10)
    assert r.p == pytest.approx(sm_p, abs=1e-12)
    assert r.p == pytest.approx(sps.chi2.sf(r.estimate, 2), abs=1e-15)
    assert dict(r.extra)["df"] == 2


def test_logrank_needs_two_groups():
    with pytest.raises(AnalysisError, match=">= 2 groups"):
        sv.logrank_test(DUR, EVT, ["A"] * 10)


# --------------------------------------------------------------------------- Cox


@pytest.fixture
def spells() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 200
    allied = rng.random(n) < 0.5
    year = rng.normal(size=n)
    t = rng.exponential(1 / np.exp(0.7 * allied - 0.3 * year)) * 100
    cens = rng.exponential(150, n)
    return pd.DataFrame(
        {
            "days": np.round(np.minimum(t, cens)) + 1,  # rounding makes ties: Efron matters
            "event": (t <= cens).astype(int),
            "allied": allied,
            "year": year,
            "region": rng.choice(["eu", "me", "af"], n),
            "dyad": rng.integers(0, 25, n),
        }
    )


def test_cox_matches_direct_phreg_fit(spells):
    table, r = sv.cox_ph(spells, "days", "event", ["allied", "year"], hypothesis="H3")
    direct = PHReg(
        spells["days"].to_numpy(float),
        spells[["allied", "year"]].to_numpy(float),
        status=spells["event"].to_numpy(float),
        ties="efron",
    ).fit()
    np.testing.assert_allclose(table["coef"], direct.params, rtol=1e-10)
    np.testing.assert_allclose(table["se"], direct.bse, rtol=1e-10)
    np.testing.assert_allclose(table["p"], direct.pvalues, rtol=1e-10)
    np.testing.assert_allclose(table["hr"], np.exp(direct.params), rtol=1e-10)
    z = sps.norm.ppf(0.975)
    assert r.estimate == pytest.approx(math.exp(direct.params[0]), rel=1e-10)
    assert r.ci_low == pytest.approx(math.exp(direct.params[0] - z * direct.bse[0]), rel=1e-10)
    assert r.ci_high == pytest.approx(math.exp(direct.params[0] + z * direct.bse[0]), rel=1e-10)
    assert r.ci_low < r.estimate < r.ci_high
    assert 1.4 < r.estimate < 3.0  # the true hazard ratio is exp(0.7) = 2.01
    assert r.n == 200 and dict(r.extra)["n_events"] == int(spells["event"].sum())


def test_cox_strata_cluster_and_report(spells):
    table, r = sv.cox_ph(
        spells, "days", "event", ["allied", "year"], strata="region", cluster="dyad", report="year"
    )
    direct = PHReg(
        spells["days"].to_numpy(float),
        spells[["allied", "year"]].to_numpy(float),
        status=spells["event"].to_numpy(float),
        strata=pd.factorize(spells["region"])[0],
        ties="efron",
    ).fit(groups=spells["dyad"].to_numpy())
    np.testing.assert_allclose(table["coef"], direct.params, rtol=1e-10)
    np.testing.assert_allclose(table["se"], direct.bse, rtol=1e-10)  # robust, by dyad
    assert r.estimate == pytest.approx(math.exp(direct.params[1]), rel=1e-10)
    assert r.ci_low < r.estimate < r.ci_high and r.n_clusters == 25
    assert "stratified by region" in r.method and "clustered by dyad" in r.method


def test_cox_errors(spells):
    with pytest.raises(AnalysisError, match="report must be one of the covariates"):
        sv.cox_ph(spells, "days", "event", ["allied"], report="year")
    with pytest.raises(AnalysisError, match="constant: \\['k'\\]"):
        sv.cox_ph(spells.assign(k=1.0), "days", "event", ["allied", "k"])
    with pytest.raises(AnalysisError, match="must be numeric"):
        sv.cox_ph(spells, "days", "event", ["region"])
    with pytest.raises(AnalysisError, match="non-empty list"):
        sv.cox_ph(spells, "days", "event", "allied")


def test_ph_assumption_test_flags_a_time_varying_effect():
    rng = np.random.default_rng(5)
    n = 400
    x = rng.random(n) < 0.5
    # Weibull shape 0.5 (falling hazard) for x, shape 2 (rising) otherwise: the hazard ratio
    # of x declines over time, which the residual correlation must flag with a negative rho.
    t = rng.weibull(np.where(x, 0.5, 2.0))
    df = pd.DataFrame({"t": t, "e": 1, "x": x, "noise": rng.normal(size=n)})
    out = sv.ph_assumption_test(df, "t", "e", ["x", "noise"])
    assert list(out.columns) == ["covariate", "rho", "p"]
    assert list(out["covariate"]) == ["x", "noise"]
    assert out.loc[0, "rho"] < -0.3 and out.loc[0, "p"] < 1e-6
    assert abs(out.loc[1, "rho"]) < 0.15 and out.loc[1, "p"] > 0.01  # noise: proportional


def test_ph_assumption_test_single_covariate_is_raw_residual_correlation(spells):
    # With one covariate the scaling is affine, so rho equals the Pearson correlation of the
    # raw PHReg Schoenfeld residuals with the rank of the event times.
    out = sv.ph_assumption_test(spells, "days", "event", ["year"])
    fit = PHReg(
        spells["days"].to_numpy(float),
        spells[["year"]].to_numpy(float),
        status=spells["event"].to_numpy(float),
        ties="efron",
    ).fit()
    resid = fit.schoenfeld_residuals[:, 0]
    ok = ~np.isnan(resid)
    expected = sps.pearsonr(sps.rankdata(spells["days"][ok]), resid[ok])
    assert out.loc[0, "rho"] == pytest.approx(expected.statistic, abs=1e-10)
    assert out.loc[0, "p"] == pytest.approx(expected.pvalue, abs=1e-10)


def test_cox_clustered_se_with_a_spell_censored_before_the_first_event():
    # statsmodels' fit(groups=...) gives NaN here; its score residual is 0 by definition, so
    # the clustered SE must be finite and equal statsmodels' when that spell is dropped
    # (a spell censored before any event adds nothing to the partial likelihood or score).
    df = pd.DataFrame(
        {
            "t": [1.0, 3, 4, 5, 6, 7, 8, 9, 10, 11],
            "e": [0, 1, 1, 0, 1, 1, 0, 1, 1, 0],
            "x": [1.0, 0, 1, 1, 0, 1, 0, 0, 1, 0],
            "g": ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"],
        }
    )
    _, res = sv.cox_ph(df, "t", "e", ["x"], cluster="g")
    assert np.isfinite(res.ci_low) and np.isfinite(res.p)
    rest = df.iloc[1:]
    direct = PHReg(rest["t"], rest[["x"]], status=rest["e"], ties="efron").fit(
        groups=pd.factorize(rest["g"])[0]
    )
    assert dict(res.extra)["se_log_hr"] == pytest.approx(float(direct.bse[0]), rel=1e-8)
