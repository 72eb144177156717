"""Survival analysis for time-to-deal: Kaplan–Meier, medians, log-rank and Cox regression.

Every function takes arrays or a DataFrame, never mutates them, and returns a tidy DataFrame
or a :class:`~research.stats.Result`.

Methods and references
----------------------
* Kaplan–Meier with Greenwood variance and log(-log) confidence bands (Kalbfleisch & Prentice
  2002, sec. 1.4); median CI after Brookmeyer & Crowley (1982).
* The log-rank test (observed minus expected events over the pooled risk sets).
* Cox regression with Efron ties (statsmodels ``PHReg``), with Lin & Wei (1989) cluster-robust
  standard errors; a Grambsch & Therneau (1994) residual check of proportional hazards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.duration.hazard_regression import PHReg

from .exceptions import AnalysisError
from .stats import Result, _complete, _n_clusters_ok, _numeric

__all__ = ["cox_ph", "kaplan_meier", "km_median", "logrank_test", "ph_assumption_test"]


# --------------------------------------------------------------------------- survival


def _survival_inputs(durations: Any, events: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events)
    if t.ndim != 1 or t.shape != e.shape or t.size == 0:
        raise AnalysisError(
            f"durations and events must be non-empty 1-d and of equal length; got {t.shape} "
            f"and {e.shape}"
        )
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise AnalysisError("durations must be finite and non-negative, with no missing values")
    if not set(pd.unique(e).tolist()) <= {True, False}:
        raise AnalysisError("events must be 1/0 or True/False (1 = event, 0 = censored)")
    return t, e.astype(bool)


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise AnalysisError(f"level must be strictly between 0 and 1; got {level}")
    return float(sps.norm.ppf((1 + level) / 2))


def kaplan_meier(durations: Any, events: Any, level: float = 0.95) -> pd.DataFrame:
    """Kaplan–Meier estimate with Greenwood standard errors and log(-log) confidence bands.

    One row per distinct observed time (event or censoring). ``n_at_risk`` counts subjects
    with duration >= time; at tied times events precede censorings. ``se`` is Greenwood's
    standard error of S(t), S(t) * sqrt(sum d / (n (n - d))). The band is
    S(t) ** exp(+-z * sqrt(V) / |log S(t)|), i.e. symmetric on log(-log S) as R's
    ``survfit(conf.type="log-log")``; it is [1, 1] while S = 1 and [0, 0] once S = 0 (where
    ``se`` is undefined and returned as NaN).

    Parameters
    ----------
    durations : array-like of float
        Time to event or censoring (e.g. days since detention).
    events : array-like of bool or 0/1
        1 if the event was observed, 0 if censored.
    level : float
        Confidence level of the band.

    Returns
    -------
    DataFrame
        Columns ``time, n_at_risk, n_events, n_censored, survival, se, ci_low, ci_high``.

    Raises
    ------
    AnalysisError
        On unequal lengths, negative or missing durations, or non-binary events.

    Examples
    --------
    >>> kaplan_meier([3, 5, 5, 8], [1, 1, 0, 1])["survival"].round(3).tolist()
    [0.75, 0.5, 0.0]
    """
    z = _z(level)
    t, e = _survival_inputs(durations, events)
    times, inv = np.unique(t, return_inverse=True)
    n_events = np.bincount(inv, weights=e.astype(float)).astype(int)
    n_total = np.bincount(inv)
    at_risk = len(t) - np.concatenate([[0], np.cumsum(n_total)[:-1]])
    surv = np.cumprod(1 - n_events / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_log = np.cumsum(n_events / (at_risk * (at_risk - n_events)))
        se_loglog = np.sqrt(var_log) / np.abs(np.log(surv))
        low, high = surv ** np.exp(z * se_loglog), surv ** np.exp(-z * se_loglog)
        se = np.where(surv > 0, surv * np.sqrt(var_log), np.nan)
    edge = (surv >= 1) | (surv <= 0)
    return pd.DataFrame(
        {
            "time": times,
            "n_at_risk": at_risk,
            "n_events": n_events,
            "n_censored": n_total - n_events,
            "survival": surv,
            "se": se,
            "ci_low": np.where(edge, np.clip(surv, 0, 1), low),
            "ci_high": np.where(edge, np.clip(surv, 0, 1), high),
        }
    )


def _first_time_at_or_below(km: pd.DataFrame, column: str, q: float = 0.5) -> float:
    below = km["time"][km[column] <= q + 1e-12]  # tolerance: a product that is 0.5 exactly
    return float(below.iloc[0]) if len(below) else float("nan")


def km_median(durations: Any, events: Any, level: float = 0.95) -> tuple[float, float, float]:
    """Kaplan–Meier median survival time with a Brookmeyer–Crowley confidence interval.

    The median is the first time at which S(t) <= 0.5 (no interpolation, and no averaging
    where S is exactly 0.5 on an interval, which R's ``survfit`` does). The CI is the set of
    times whose pointwise log(-log) band (see :func:`kaplan_meier`) contains 0.5: its lower
    limit is the first time the lower band is <= 0.5, its upper limit the first time the
    upper band is <= 0.5 (Brookmeyer & Crowley 1982, with the transformed band as in R).
    A limit that is never reached is NaN ("not reached").

    Parameters
    ----------
    durations, events, level
        As for :func:`kaplan_meier`.

    Returns
    -------
    tuple of float
        ``(median, ci_low, ci_high)``; NaN where not reached.

    Raises
    ------
    AnalysisError
        As :func:`kaplan_meier`.

    Examples
    --------
    >>> km_median([3, 5, 5, 8], [1, 1, 0, 1])[0]
    5.0
    """
    km = kaplan_meier(durations, events, level)
    return tuple(_first_time_at_or_below(km, c) for c in ("survival", "ci_low", "ci_high"))


def _risk_tables(
    t: np.ndarray, e: np.ndarray, codes: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """At each distinct event time: subjects at risk and events, per group (T x k)."""
    times = np.unique(t[e])
    at_risk = np.column_stack(
        [len(tg) - np.searchsorted(np.sort(tg), times) for tg in (t[codes == g] for g in range(k))]
    )
    row = np.searchsorted(times, t[e])
    deaths = np.zeros_like(at_risk)
    np.add.at(deaths, (row, codes[e]), 1)
    return at_risk, deaths


def logrank_test(
    durations: Any, events: Any, groups: Any, *, name: str = "", hypothesis: str = ""
) -> Result:
    """Log-rank test of equal survival across two or more groups.

    At each distinct event time with n at risk and d events, group g (n_g at risk) expects
    E_g = d n_g / n events, with hypergeometric covariance
    V_gh = d (n - d) / (n - 1) * n_g / n * (1[g = h] - n_h / n). The statistic is
    U' V^-1 U over the first k - 1 groups, U = sum (O - E), chi-square with k - 1 df.

    Parameters
    ----------
    durations, events
        As for :func:`kaplan_meier`.
    groups : array-like
        Group label of each subject (at least two distinct labels, none missing).
    name, hypothesis : str
        Labels carried into the :class:`Result`.

    Returns
    -------
    Result
        ``estimate`` is the chi-square statistic; ``extra`` holds ``df``, ``groups`` and the
        ``observed`` and ``expected`` event counts per group (groups in sorted order).

    Raises
    ------
    AnalysisError
        On invalid survival inputs, missing group labels, a single group, or no events.

    Examples
    --------
    >>> logrank_test([1, 2, 3, 4], [1, 1, 1, 1], ["a", "b", "a", "b"]).p  # doctest: +SKIP
    """
    t, e = _survival_inputs(durations, events)
    codes, labels = pd.factorize(pd.Series(np.asarray(groups, dtype=object)), sort=True)
    if len(codes) != len(t) or np.any(codes < 0):
        raise AnalysisError("groups must have one non-missing label per duration")
    k = len(labels)
    if k < 2 or not e.any():
        raise AnalysisError(f"the log-rank test needs >= 2 groups and >= 1 event; got {k} group(s)")
    n_g, d_g = _risk_tables(t, e, codes, k)
    n, d = n_g.sum(axis=1), d_g.sum(axis=1)
    share = n_g / n[:, None]
    u = (d_g - d[:, None] * share).sum(axis=0)
    w = d * (n - d) / np.maximum(n - 1, 1)
    v = np.einsum("t,tg,tgh->gh", w, share, np.eye(k)[None, :, :] - share[:, None, :])
    try:
        stat = float(u[:-1] @ np.linalg.solve(v[:-1, :-1], u[:-1]))
    except np.linalg.LinAlgError as exc:
        raise AnalysisError("the log-rank variance is singular (a group is never at risk)") from exc
    observed = d_g.sum(axis=0)
    return Result(
        name=name or "log-rank chi-square",
        estimate=stat,
        ci_low=None,
        ci_high=None,
        p=float(sps.chi2.sf(stat, k - 1)),
        n=len(t),
        n_clusters=None,
        method=f"log-rank test, chi-square with {k - 1} df",
        hypothesis=hypothesis,
        extra=(
            ("df", k - 1),
            ("groups", tuple(map(str, labels))),
            ("observed", tuple(int(x) for x in observed)),
            ("expected", tuple(float(x) for x in observed - u)),
        ),
    )


# --------------------------------------------------------------------------- Cox


def _covariate_list(covariates: Sequence[str]) -> list[str]:
    if isinstance(covariates, str) or not covariates:
        raise AnalysisError(f"covariates must be a non-empty list of columns; got {covariates!r}")
    return list(covariates)


def _cox_fit(df, duration, event, covariates, strata=None, cluster=None):
    """Fit PHReg (Efron ties) on the complete rows; return (results, complete data)."""
    covariates = _covariate_list(covariates)
    data = _complete(df, [duration, event, *covariates, strata, cluster])
    t, e = _survival_inputs(data[duration], data[event])
    x = np.column_stack([_numeric(data[c], f"covariate {c!r}") for c in covariates])
    flat = [c for c, col in zip(covariates, x.T, strict=True) if np.ptp(col) == 0]
    if flat or not e.any():
        raise AnalysisError(f"Cox regression needs events and varying covariates; constant: {flat}")
    strata_codes = pd.factorize(data[strata])[0] if strata else None
    model = PHReg(t, x, status=e.astype(float), strata=strata_codes, ties="efron")
    fit = model.fit()
    if cluster:
        groups = pd.factorize(data[cluster])[0]
        _n_clusters_ok(len(np.unique(groups)), cluster)
        fit.cov_params_default = _lin_wei_cov(model, fit, t, e, groups)
    return fit, data


def _lin_wei_cov(model, fit, t: np.ndarray, e: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Lin & Wei (1989) cluster-robust covariance, V (sum_g U_g U_g') V.

    statsmodels' own ``fit(groups=...)`` returns NaN when a spell is censored before the first
    event: its score residual is undefined there (an empty sum), and is 0 by definition.
    """
    scores = model.score_residuals(fit.params)
    early = t < t[e.astype(bool)].min()
    bad = np.isnan(scores).any(axis=1)
    if (bad & ~early).any():
        raise AnalysisError("Cox score residuals are undefined for spells after the first event")
    scores = np.where(bad[:, None], 0.0, scores)
    per_cluster = np.vstack([scores[groups == g].sum(axis=0) for g in np.unique(groups)])
    naive = np.asarray(fit.normalized_cov_params)
    return naive @ (per_cluster.T @ per_cluster) @ naive


def cox_ph(
    df: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    strata: str | None = None,
    cluster: str | None = None,
    *,
    report: str | None = None,
    level: float = 0.95,
    name: str = "",
    hypothesis: str = "",
) -> tuple[pd.DataFrame, Result]:
    """Cox proportional-hazards regression (statsmodels ``PHReg``, Efron ties).

    Rows missing any used column are dropped. Covariates must be numeric or boolean (make
    dummies for categories). With ``strata`` each stratum has its own baseline hazard; with
    ``cluster`` the standard errors are the robust sandwich of Lin & Wei (1989) over clusters.
    Wald CIs are exp(b +- z se).

    Parameters
    ----------
    df : DataFrame
    duration, event : str
        Columns of durations and event indicators (1 = event, 0 = censored).
    covariates : list of str
        Covariate columns.
    strata, cluster : str, optional
        Stratification and clustering columns.
    report : str, optional
        Covariate reported in the :class:`Result` (default: the first).
    level : float
        Confidence level.
    name, hypothesis : str
        Labels carried into the :class:`Result`.

    Returns
    -------
    table : DataFrame
        One row per covariate: ``term, coef, se, z, p, hr, hr_ci_low, hr_ci_high``.
    result : Result
        ``estimate`` is the hazard ratio of ``report``, its CI on the HR scale.

    Raises
    ------
    AnalysisError
        Missing columns, no events, a constant or non-numeric covariate, fewer than three
        clusters, or ``report`` not among ``covariates``.

    Examples
    --------
    >>> table, res = cox_ph(spells, "days", "event", ["defense_pact_home"])  # doctest: +SKIP
    """
    covariates = _covariate_list(covariates)
    report = report or covariates[0]
    if report not in covariates:
        raise AnalysisError(f"report must be one of the covariates {covariates!r}; got {report!r}")
    fit, data = _cox_fit(df, duration, event, covariates, strata, cluster)
    z = _z(level)
    coef, se = np.asarray(fit.params), np.asarray(fit.bse)
    table = pd.DataFrame(
        {"term": list(covariates), "coef": coef, "se": se, "z": coef / se, "p": fit.pvalues}
    ).assign(hr=np.exp(coef), hr_ci_low=np.exp(coef - z * se), hr_ci_high=np.exp(coef + z * se))
    row = table.set_index("term").loc[report]
    method = "Cox PH, Efron ties" + (f", stratified by {strata}" if strata else "")
    method += f", robust SE clustered by {cluster}" if cluster else ""
    result = Result(
        name=name or f"hazard ratio of {report}",
        estimate=float(row["hr"]),
        ci_low=float(row["hr_ci_low"]),
        ci_high=float(row["hr_ci_high"]),
        p=float(row["p"]),
        n=len(data),
        n_clusters=int(data[cluster].nunique()) if cluster else None,
        method=method,
        hypothesis=hypothesis,
        extra=(
            ("log_hr", float(row["coef"])),
            ("se_log_hr", float(row["se"])),
            ("n_events", int(data[event].astype(bool).sum())),
            ("level", level),
        ),
    )
    return table, result


def ph_assumption_test(
    df: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    strata: str | None = None,
) -> pd.DataFrame:
    """Check proportional hazards: correlate scaled Schoenfeld residuals with rank of time.

    Scaled residuals follow Grambsch & Therneau (1994): r* = d * r V + b, with d events, r
    the Schoenfeld residuals, V the model-based covariance and b the coefficients. For each
    covariate, ``rho`` is the Pearson correlation of r* with the rank of the event times and
    ``p`` its t-test (n_events - 2 df), as the ``rho`` column of R's older ``cox.zph``. A small
    p suggests the covariate's effect changes over time.

    Parameters
    ----------
    df, duration, event, covariates, strata
        As for :func:`cox_ph`.

    Returns
    -------
    DataFrame
        Columns ``covariate, rho, p``.

    Raises
    ------
    AnalysisError
        As :func:`cox_ph`, or with fewer than three events.

    Examples
    --------
    >>> ph_assumption_test(spells, "days", "event", ["defense_pact_home"])  # doctest: +SKIP
    """
    fit, data = _cox_fit(df, duration, event, covariates, strata)
    resid = np.asarray(fit.schoenfeld_residuals)
    used = ~np.isnan(resid).any(axis=1)  # censored rows have no residual
    if used.sum() < 3:
        raise AnalysisError(f"the PH check needs at least 3 events; got {int(used.sum())}")
    scaled = used.sum() * resid[used] @ np.asarray(fit.cov_params()) + np.asarray(fit.params)
    time_rank = sps.rankdata(data[duration].to_numpy(dtype=float)[used])
    tests = [sps.pearsonr(time_rank, scaled[:, j]) for j in range(len(covariates))]
    return pd.DataFrame(
        {
            "covariate": list(covariates),
            "rho": [float(r.statistic) for r in tests],
            "p": [float(r.pvalue) for r in tests],
        }
    )
