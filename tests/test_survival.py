"""Tests of research.survival against hand computations and independent references."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as F
from pathlib import Path

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
    # statsmodels' robust SE uses Breslow-form score residuals, ours Efron's as R: close, unequal
    np.testing.assert_allclose(table["se"], direct.bse, rtol=0.02)
    assert not np.allclose(table["se"], direct.bse, rtol=1e-8, atol=0)
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


def test_ph_test_flags_a_time_varying_effect():
    rng = np.random.default_rng(5)
    n = 400
    x = rng.random(n) < 0.5
    # Weibull shape 0.5 (falling hazard) for x, shape 2 (rising) otherwise: the hazard ratio
    # of x declines over time, which the score test must flag; the noise covariate must not be.
    t = rng.weibull(np.where(x, 0.5, 2.0))
    df = pd.DataFrame({"t": t, "e": 1, "x": x, "noise": rng.normal(size=n)})
    out = sv.ph_test(df, "t", "e", ["x", "noise"])
    assert list(out.columns) == ["term", "chisq", "df", "p"]
    assert list(out["term"]) == ["x", "noise", "GLOBAL"]
    assert out.loc[0, "p"] < 1e-6 and out.loc[1, "p"] > 0.01
    assert out.loc[2, "df"] == 2
    with pytest.raises(AnalysisError, match="transform must be one of"):
        sv.ph_test(df, "t", "e", ["x"], transform="rank")


def test_cox_clustered_se_with_a_spell_censored_before_the_first_event():
    # statsmodels' fit(groups=...) gives NaN here; the score residual of a row censored before
    # the first event is 0, so the clustered SE is finite and equals the SE without that row.
    df = pd.DataFrame(
        {
            "t": [1.0, 3, 4, 5, 6, 7, 8, 9, 10, 11],
            "e": [0, 1, 1, 0, 1, 1, 0, 1, 1, 0],
            "x": [1.0, 0, 1, 1, 0, 1, 0, 0, 1, 0],
            "g": ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"],
        }
    )
    _, res = sv.cox_ph(df, "t", "e", ["x"], cluster="g")
    _, rest = sv.cox_ph(df.iloc[1:], "t", "e", ["x"], cluster="g")
    assert np.isfinite(res.ci_low) and np.isfinite(res.p)
    assert dict(res.extra)["se_log_hr"] == pytest.approx(dict(rest.extra)["se_log_hr"], rel=1e-10)


# --------------------------------------------------------------------------- splitting


def test_split_spells_makes_counting_process_rows_that_leave_the_fit_unchanged(spells):
    cuts = {i: [d / 2, d / 3] for i, d in spells["days"].items()}
    long = sv.split_spells(spells, "days", "event", cuts)
    assert len(long) > len(spells)
    assert long.groupby("spell_row")["event"].sum().tolist() == spells["event"].tolist()
    assert (long.groupby("spell_row")["stop"].max() == spells["days"]).all()
    assert (long["start"] < long["stop"]).all()
    # Splitting a fixed covariate must not change the Cox fit: each spell is at risk once at
    # every time, (start, stop] as R's Surv(start, stop, event).
    t_flat, _ = sv.cox_ph(spells, "days", "event", ["allied", "year"], cluster="dyad")
    t_long, _ = sv.cox_ph(long, "stop", "event", ["allied", "year"], cluster="dyad", entry="start")
    np.testing.assert_allclose(t_long["coef"], t_flat["coef"], rtol=1e-9)
    np.testing.assert_allclose(t_long["se"], t_flat["se"], rtol=1e-9)
    z_flat = sv.ph_test(spells, "days", "event", ["allied", "year"])
    z_long = sv.ph_test(long, "stop", "event", ["allied", "year"], entry="start")
    np.testing.assert_allclose(z_long["chisq"], z_flat["chisq"], rtol=1e-8)
    r_flat = sv.robust_score_test(spells, "days", "event", "allied", "dyad")
    r_long = sv.robust_score_test(long, "stop", "event", "allied", "dyad", entry="start")
    assert r_long.estimate == pytest.approx(r_flat.estimate, rel=1e-10)


# --------------------------------------------------------------------------- against R

# tests/reference/survival_reference.R on tests/reference/survival_small.csv (60 subjects,
# 11 clusters, integer times with ties, delayed entry for some rows), its printed output pasted
# from tests/reference/survival_reference.out (R 4.2.2, survival 3.5.3, cmprsk 2.2.11).
# Tolerances: closed-form statistics (Kaplan-Meier, log-rank, score tests, cox.zph at given
# coefficients) use the same arithmetic as R and agree to R's 12 printed digits (rel 1e-9);
# fitted coefficients come from iterative solvers that stop at different points (R's coxph at
# a relative log-likelihood change of 1e-9), so they and their SEs are held to 1e-6.
R = {
    "km_median_x0": (90, 36, 113),
    "survdiff_chisq": 3.87289444332,
    "breslow_naive_score": 3.85306319406,
    "breslow_robust_score": 2.50708628276,
    "cox_coef": (0.690525840977, -0.09856300512),
    "cox_robust_se": (0.479908495409, 0.107421747121),
    "cox_naive_se": (0.39030759958, 0.189120437306),
    "cox_entry_coef": (0.675646355448, -0.022722033105),
    "cox_entry_robust_se": (0.481442285811, 0.120553132715),
    "cox_strata_coef": 0.653517863256,
    "cox_strata_robust_se": 0.476768890022,
    "zph_km_chisq": (0.03976199581, 0.298197507576, 0.306538887892),
    "zph_km_p": (0.841946652151, 0.585014634322, 0.8578985351),
    "zph_identity_chisq": (0.0305427383392, 0.299194244223, 0.304158264627),
    "zph_entry_km_chisq": (0.0648516969604, 0.40248056644, 0.424284060973),
    "cox_tt_coef": (0.560069931803, -0.0974591935396, 0.0407829627376),
    "cox_tt_robust_se": (1.23216505462, 0.11226781295, 0.328331019187),
    "breslow_entry_strata_naive_score": 2.47609997224,
    "breslow_entry_strata_robust_score": 1.64095160636,
}


@pytest.fixture
def small() -> pd.DataFrame:
    d = pd.read_csv(Path(__file__).parent / "reference" / "survival_small.csv")
    return d.assign(ev=(d["cause"] == 1).astype(int), zpos=d["z"] > 0)


def test_km_median_and_log_rank_against_r(small):
    x0 = small[small["x"] == 0]
    assert sv.km_median(x0["time"], x0["ev"]) == R["km_median_x0"]
    r = sv.logrank_test(small["time"], small["ev"], small["x"])
    assert r.estimate == pytest.approx(R["survdiff_chisq"], rel=1e-9)


def test_robust_score_test_against_r(small):
    r = sv.robust_score_test(small, "time", "ev", "x", "cluster")
    assert r.estimate == pytest.approx(R["breslow_robust_score"], rel=1e-9)
    assert dict(r.extra)["naive_chisq"] == pytest.approx(R["breslow_naive_score"], rel=1e-9)
    assert r.n_clusters == small["cluster"].nunique() == 11 and r.p == pytest.approx(
        sps.chi2.sf(r.estimate, 1)
    )


@pytest.mark.parametrize(
    ("kwargs", "coef", "se"),
    [
        ({"covariates": ["x", "z"]}, "cox_coef", "cox_robust_se"),
        ({"covariates": ["x", "z"], "entry": "entry"}, "cox_entry_coef", "cox_entry_robust_se"),
        ({"covariates": ["x"], "strata": "zpos"}, "cox_strata_coef", "cox_strata_robust_se"),
    ],
)
def test_clustered_cox_against_r(small, kwargs, coef, se):
    table, _ = sv.cox_ph(small, "time", "ev", cluster="cluster", **kwargs)
    np.testing.assert_allclose(table["coef"], np.atleast_1d(R[coef]), rtol=0, atol=1e-6)
    np.testing.assert_allclose(table["se"], np.atleast_1d(R[se]), rtol=0, atol=1e-6)


def test_naive_cox_se_against_r(small):
    table, _ = sv.cox_ph(small, "time", "ev", ["x", "z"])
    np.testing.assert_allclose(table["se"], R["cox_naive_se"], rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("transform", "entry", "key"),
    [
        ("km", None, "zph_km_chisq"),
        ("identity", None, "zph_identity_chisq"),
        ("km", "entry", "zph_entry_km_chisq"),
    ],
)
def test_ph_test_against_r_cox_zph(small, transform, entry, key):
    out = sv.ph_test(small, "time", "ev", ["x", "z"], transform=transform, entry=entry)
    # the statistic is evaluated at the fitted coefficients: 1e-6 in beta moves it ~1e-7
    np.testing.assert_allclose(out["chisq"], R[key], rtol=1e-5)
    if key == "zph_km_chisq":
        np.testing.assert_allclose(out["p"], R["zph_km_p"], rtol=1e-5)


def test_time_interaction_against_r_tt(small):
    long = sv.time_interaction(small, "time", "ev", "x")
    assert long.groupby("id")["ev"].sum().tolist() == small["ev"].tolist()
    table, _ = sv.cox_ph(long, "stop", "ev", ["x", "z", "x_x_t"], entry="start", cluster="cluster")
    np.testing.assert_allclose(table["coef"], R["cox_tt_coef"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(table["se"], R["cox_tt_robust_se"], rtol=0, atol=1e-6)


def test_stratified_robust_score_test_with_entry_against_r(small):
    r = sv.robust_score_test(small, "time", "ev", "x", "cluster", strata="zpos", entry="entry")
    assert r.estimate == pytest.approx(R["breslow_entry_strata_robust_score"], rel=1e-9)
    naive = dict(r.extra)["naive_chisq"]
    assert naive == pytest.approx(R["breslow_entry_strata_naive_score"], rel=1e-9)
    with pytest.raises(AnalysisError, match="strata or entry, not both"):
        sv.logrank_test(
            small["time"], small["ev"], small["x"], strata=small["zpos"], entry=small["entry"]
        )
