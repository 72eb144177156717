"""Tests of research.competing against hand computations and R (cmprsk, survival)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from research import competing as cr
from research import survival as sv
from research.exceptions import AnalysisError

# tests/reference/survival_reference.R on tests/reference/survival_small.csv; printed output in
# tests/reference/survival_reference.out (R 4.2.2, survival 3.5.3, cmprsk 2.2.11).
R = {
    "grid": (10, 25, 50, 75, 100),
    "cuminc_est": (0.133333333333, 0.266666666667, 0.506018518519, 0.569354964208, 0.674002963759),
    "cuminc_var": (
        0.00196038233919,
        0.00332358247163,
        0.00457883410397,
        0.00469212055422,
        0.00489346982228,
    ),
    "survfit_aj_entry": (
        0.17134062353,
        0.315232805588,
        0.547122201823,
        0.602659855174,
        0.692762471076,
    ),
    "crr_coef": (0.57317057585, -0.117262765222),
    "crr_se": (0.335308843524, 0.156104738788),
    "finegray_coef": (0.573404401458, -0.117012012125),
    "finegray_robust_se_id": (0.339349312353, 0.156676855556),
    "finegray_robust_se_cluster": (0.330829338414, 0.126264099241),
}


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.read_csv(Path(__file__).parent / "reference" / "survival_small.csv")


def test_aalen_johansen_by_hand():
    # t=1: 4 at risk, cause 1 -> F = 1/4, S = 3/4; t=2: cause 2, S = 1/2; t=3 censored;
    # t=4: 1 at risk, cause 1 -> F = 1/4 + 1/2 * 1 = 3/4.
    aj = cr.aalen_johansen([1, 2, 3, 4], [1, 2, 0, 1])
    assert aj["cif"].tolist() == [0.25, 0.25, 0.25, 0.75]
    assert aj["n_at_risk"].tolist() == [4, 3, 2, 1]
    assert aj[["n_events", "n_competing", "n_censored"]].sum().tolist() == [2, 1, 1]


def test_aalen_johansen_without_competing_endings_is_one_minus_kaplan_meier(small):
    two = np.where(small["cause"] == 2, 0, small["cause"])  # competing endings as censored
    aj = cr.aalen_johansen(small["time"], two)
    km = sv.kaplan_meier(small["time"], two == 1)
    np.testing.assert_allclose(aj["cif"], 1 - km["survival"], atol=1e-12)


def test_aalen_johansen_against_r_cuminc(small):
    # closed form, same arithmetic as cmprsk's Fortran: R's 12 printed digits
    aj = cr.aalen_johansen(small["time"], small["cause"], cause=1)
    rows = [aj.index[aj["time"] <= g][-1] for g in R["grid"]]
    np.testing.assert_allclose(aj.loc[rows, "cif"], R["cuminc_est"], rtol=1e-9)
    np.testing.assert_allclose(aj.loc[rows, "se"] ** 2, R["cuminc_var"], rtol=1e-9)
    inside = aj.loc[rows]
    assert ((inside["ci_low"] < inside["cif"]) & (inside["cif"] < inside["ci_high"])).all()


def test_aalen_johansen_with_delayed_entry_against_r_survfit(small):
    aj = cr.aalen_johansen(small["time"], small["cause"], entry=small["entry"])
    rows = [aj.index[aj["time"] <= g][-1] for g in R["grid"]]
    np.testing.assert_allclose(aj.loc[rows, "cif"], R["survfit_aj_entry"], rtol=1e-9)


def test_fine_gray_against_r(small):
    table, res = cr.fine_gray(small, "time", "cause", ["x", "z"], cause=1)
    # Same estimating equation and weights as crr (G(t-)/G(T-)), Newton to 1e-10: 1e-7.
    np.testing.assert_allclose(table["coef"], R["crr_coef"], rtol=0, atol=1e-7)
    # survival::finegray evaluates G at slightly different points on tied times, which moves
    # the coefficients by 2.3e-4 here; our sandwich is coxph's on finegray data (G treated as
    # known), so the SEs agree to the same order (2e-4), and crr's SE, which adds a term for
    # estimating G, is within 1.2% on this data.
    np.testing.assert_allclose(table["coef"], R["finegray_coef"], rtol=0, atol=3e-4)
    np.testing.assert_allclose(table["se"], R["finegray_robust_se_id"], rtol=0, atol=3e-4)
    np.testing.assert_allclose(table["se"], R["crr_se"], rtol=0.015)
    assert res.estimate == pytest.approx(np.exp(R["crr_coef"][0]), rel=1e-6)
    assert dict(res.extra)["n_events"] == int((small["cause"] == 1).sum())
    clustered, res = cr.fine_gray(small, "time", "cause", ["x", "z"], cluster="cluster")
    np.testing.assert_allclose(clustered["se"], R["finegray_robust_se_cluster"], atol=3e-4)
    assert res.n_clusters == 11 and "clustered by cluster" in res.method


def test_fine_gray_without_competing_endings_is_breslow_cox(small):
    # With no competing endings every weight is 1 or 0: the Cox model with Breslow ties.
    from statsmodels.duration.hazard_regression import PHReg

    d = small.assign(cause=np.where(small["cause"] == 2, 0, small["cause"]))
    table, _ = cr.fine_gray(d, "time", "cause", ["x", "z"])
    direct = PHReg(d["time"], d[["x", "z"]], status=d["cause"], ties="breslow").fit()
    np.testing.assert_allclose(table["coef"], direct.params, atol=1e-7)
    np.testing.assert_allclose(table["se_model"], direct.bse, rtol=1e-6)


def test_competing_inputs_are_validated(small):
    with pytest.raises(AnalysisError, match="equal length"):
        cr.aalen_johansen([1, 2], [1])
    with pytest.raises(AnalysisError, match="constant"):
        cr.fine_gray(small.assign(k=1.0), "time", "cause", ["x", "k"])
    with pytest.raises(AnalysisError, match="report must be one of"):
        cr.fine_gray(small, "time", "cause", ["x"], report="z")
