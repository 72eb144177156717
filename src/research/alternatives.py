"""Alternative estimators of the allied side's terms, beside the mean log ratio.

* Fractional (quasi-binomial) logit of the allied side's share of the persons released,
  weighted by the deal's total (Papke & Wooldridge 1996), SE clustered by dyad (statsmodels
  GLM ``cov_type="cluster"``, the same as R's ``glm(family = quasibinomial)`` with
  ``sandwich::vcovCL(type = "HC1")``). The intercept is the log odds of the allied share, so
  below 0 supports H1; without covariates it is log(sum released by allied / sum by other).
* Poisson regression of the persons the allied side released with offset log(persons the
  other side released), SE clustered by dyad (Santos Silva & Tenreyro 2006 on why a
  Poisson pseudo-likelihood, not a log-linear OLS, estimates a ratio of counts).
* Median regression of the log ratio on a constant (Koenker & Bassett 1978), which is the
  sample median, with a cluster-bootstrap percentile CI.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.tools.sm_exceptions import SpecificationWarning

from .exceptions import AnalysisError
from .stats import Result, bootstrap_ci

__all__ = ["fractional_logit", "median_regression", "poisson_offset"]


def _design(df: pd.DataFrame, covariates: tuple[str, ...]) -> np.ndarray:
    x = np.ones((len(df), 1))
    if covariates:
        x = np.column_stack([x, df[list(covariates)].to_numpy(dtype=float)])
    return x


def _clustered_glm(endog, exog, family, groups, **kwargs):
    model = sm.GLM(endog, exog, family=family, **kwargs)
    with warnings.catch_warnings():
        # statsmodels warns that cluster SEs are "not fully supported with var_weights"; for
        # these models they equal R's sandwich::vcovCL(type = "HC1") (tests/reference/)
        warnings.simplefilter("ignore", SpecificationWarning)
        return model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=False)


def _result(fit, name: str, method: str, n_clusters: int, hypothesis: str) -> Result:
    est, se = float(fit.params[0]), float(fit.bse[0])
    df = n_clusters - 1  # t(G - 1) reference, as for CR1 elsewhere in the package
    q = sps.t.ppf(0.975, df)
    return Result(
        name=name,
        estimate=est,
        ci_low=est - q * se,
        ci_high=est + q * se,
        p=float(2 * sps.t.sf(abs(est / se), df)),
        n=int(fit.nobs),
        n_clusters=n_clusters,
        method=method,
        hypothesis=hypothesis,
        extra=(("se", se), ("df", df)),
    )


def _counts(df: pd.DataFrame, allied: str, other: str, cluster: str) -> pd.DataFrame:
    for col in (allied, other, cluster):
        if col not in df.columns:
            raise AnalysisError(f"column {col!r} is not in the data")
    data = df.dropna(subset=[allied, other, cluster])
    data = data[(data[allied].astype(float) + data[other].astype(float)) > 0]
    n_clusters = data[cluster].nunique()
    if n_clusters < 3:
        raise AnalysisError(f"need at least 3 clusters of {cluster!r}; got {n_clusters}")
    return data


def fractional_logit(
    df: pd.DataFrame,
    allied: str,
    other: str,
    cluster: str = "dyad",
    covariates: tuple[str, ...] = (),
    *,
    hypothesis: str = "H1",
) -> Result:
    """Log odds that a person released came from the allied side (intercept), from a
    quasi-binomial GLM of the allied share weighted by the total released.

    Examples
    --------
    >>> fractional_logit(sample, "released_allied", "released_other")  # doctest: +SKIP
    """
    data = _counts(df, allied, other, cluster)
    a, b = data[allied].to_numpy(dtype=float), data[other].to_numpy(dtype=float)
    groups = pd.factorize(data[cluster])[0]
    fit = _clustered_glm(
        a / (a + b), _design(data, covariates), sm.families.Binomial(), groups, var_weights=a + b
    )
    return _result(
        fit,
        "log odds of the allied share of persons released (fractional logit)",
        f"quasi-binomial GLM weighted by persons released, SE clustered by {cluster} (HC1)",
        int(groups.max()) + 1,
        hypothesis,
    )


def poisson_offset(
    df: pd.DataFrame,
    allied: str,
    other: str,
    cluster: str = "dyad",
    covariates: tuple[str, ...] = (),
    *,
    hypothesis: str = "H1",
) -> Result:
    """Log rate of persons released by the allied side per person the other side released:
    Poisson GLM of ``allied`` with offset log(``other``). Deals where the other side
    released nobody are left out (the offset is undefined)."""
    data = _counts(df, allied, other, cluster)
    data = data[data[other].astype(float) > 0]
    groups = pd.factorize(data[cluster])[0]
    fit = _clustered_glm(
        data[allied].to_numpy(dtype=float),
        _design(data, covariates),
        sm.families.Poisson(),
        groups,
        offset=np.log(data[other].to_numpy(dtype=float)),
    )
    return _result(
        fit,
        "log of persons released by the allied side per person returned (Poisson, offset)",
        f"Poisson GLM with offset log(released by the other side), SE clustered by {cluster}",
        int(groups.max()) + 1,
        hypothesis,
    )


def median_regression(
    df: pd.DataFrame,
    outcome: str,
    cluster: str = "dyad",
    n_resamples: int = 2000,
    seed: int = 0,
    *,
    hypothesis: str = "H1",
) -> Result:
    """Median of ``outcome`` (median regression on a constant), with a percentile CI from
    resampling whole clusters."""
    data = df.dropna(subset=[outcome, cluster]).reset_index(drop=True)

    def median(d: pd.DataFrame) -> float:
        # median regression on a constant: its solution is the sample median (Koenker 2005,
        # sec. 1.3); QuantReg's interior-point answer differs from it by ~1e-7
        return float(np.median(d[outcome].to_numpy(dtype=float)))

    res = bootstrap_ci(data, median, n_resamples=n_resamples, seed=seed, cluster=cluster)
    return Result(
        name=f"median {outcome} (median regression)",
        estimate=res.estimate,
        ci_low=res.ci_low,
        ci_high=res.ci_high,
        p=None,
        n=res.n,
        n_clusters=res.n_clusters,
        method=f"median regression on a constant; {res.method}",
        hypothesis=hypothesis,
        extra=res.extra,
    )
