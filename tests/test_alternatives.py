"""The alternative H1 estimators against R (tests/reference/h1_inference.R: glm quasibinomial
and quasipoisson with sandwich::vcovCL(type = "HC1"))."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research import alternatives as alt
from research.exceptions import AnalysisError

D = pd.DataFrame(
    {
        "a": [1, 6, 20, 30, 100, 1, 3, 12, 2, 50, 7, 1],
        "b": [1, 2, 25, 30, 60, 4, 1, 12, 9, 45, 7, 3],
        "g": list("aaabbccdeeff"),
        "z": [0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1],
    }
)


def test_fractional_logit_matches_r_quasibinomial_with_vcovcl():
    r = alt.fractional_logit(D, "a", "b", "g")
    assert r.estimate == pytest.approx(0.1577336288411, rel=1e-8)
    assert dict(r.extra)["se"] == pytest.approx(0.1319075680103, rel=1e-8)
    # without covariates the intercept is log(sum a / sum b)
    assert r.estimate == pytest.approx(np.log(D["a"].sum() / D["b"].sum()), rel=1e-8)
    r2 = alt.fractional_logit(D, "a", "b", "g", ("z",))
    assert r2.estimate == pytest.approx(-0.3237870768676, rel=1e-7)
    assert dict(r2.extra)["se"] == pytest.approx(0.1821107567649, rel=1e-7)
    assert r2.n == 12 and r2.n_clusters == 6


def test_poisson_offset_matches_r_quasipoisson_with_vcovcl():
    r = alt.poisson_offset(D, "a", "b", "g", ("z",))
    assert r.estimate == pytest.approx(-0.3237870746901, rel=1e-7)
    assert dict(r.extra)["se"] == pytest.approx(0.1821107560365, rel=1e-7)


def test_median_regression_is_the_median_with_a_cluster_bootstrap_ci():
    d = D.assign(y=np.log(D["a"] / D["b"]))
    r = alt.median_regression(d, "y", "g", n_resamples=300, seed=1)
    assert r.estimate == pytest.approx(d["y"].median(), abs=1e-6)
    assert r.ci_low <= r.estimate <= r.ci_high and r.n_clusters == 6


def test_too_few_clusters_is_an_error():
    with pytest.raises(AnalysisError, match="at least 3 clusters"):
        alt.fractional_logit(D[D["g"].isin(["a", "b"])], "a", "b", "g")
