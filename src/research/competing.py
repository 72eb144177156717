"""Competing risks: Aalen–Johansen cumulative incidence and the Fine–Gray model.

Neither statsmodels nor lifelines (0.30) fits a Fine–Gray model, and statsmodels has no
cumulative incidence with a variance, so both are implemented here and tested against R's
``cmprsk`` (``cuminc``, ``crr``) and ``survival`` (``finegray`` + weighted ``coxph``).

Methods and references
----------------------
* Aalen–Johansen cumulative incidence of one cause, F(t) = sum_{s <= t} S(s-) d_1(s) / n(s),
  with Gray's variance as in ``cmprsk::cuminc`` (Gray 1988) and a log(-log) band.
* Fine & Gray (1999) proportional subdistribution hazards: a Cox model (Breslow ties) in which
  a subject with a competing ending stays in the risk set with the inverse-probability-of-
  censoring weight G(t-) / G(T-), G the Kaplan–Meier of the censoring distribution. Standard
  errors are the robust sandwich of the weighted score residuals, by subject or by cluster
  (as ``coxph`` on ``finegray`` data with ``cluster=``); they treat G as known, whereas
  ``crr``'s add a term for its estimation (the two differ little; the tests show how much).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from .exceptions import AnalysisError
from .stats import Result, _complete, _n_clusters_ok, _numeric

__all__ = ["aalen_johansen", "fine_gray"]


def _cause_inputs(durations: Any, causes: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(durations, dtype=float)
    c = np.asarray(causes)
    if t.ndim != 1 or t.shape != c.shape or t.size == 0:
        raise AnalysisError(
            f"durations and causes must be non-empty 1-d and of equal length; got {t.shape} "
            f"and {c.shape}"
        )
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise AnalysisError("durations must be finite and non-negative, with no missing values")
    try:
        c = c.astype(int)
    except (TypeError, ValueError) as exc:
        raise AnalysisError("causes must be integers (0 = censored, 1, 2, ... = endings)") from exc
    if np.any(c < 0):
        raise AnalysisError("causes must be 0 (censored) or a positive ending code")
    return t, c


def aalen_johansen(
    durations: Any, causes: Any, cause: int = 1, level: float = 0.95, entry: Any = None
) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence of one ending, the others competing.

    Parameters
    ----------
    durations : array-like of float
        Time to the ending or to censoring.
    causes : array-like of int
        0 = censored, otherwise the code of the ending (``cause`` is the one estimated).
    cause : int
        The ending whose cumulative incidence is estimated.
    level : float
        Confidence level of the log(-log) band.
    entry : array-like of float, optional
        Delayed-entry times (a subject is at risk after its entry, as R's
        ``Surv(start, stop, event)``). Gray's variance is then computed on the delayed risk
        sets, an approximation (``cuminc`` has no delayed entry).

    Returns
    -------
    DataFrame
        One row per distinct time: ``time, n_at_risk, n_events`` (of ``cause``),
        ``n_competing, n_censored, cif, se, ci_low, ci_high``; ``se`` is the square root of
        Gray's variance (``cmprsk::cuminc``).

    Raises
    ------
    AnalysisError
        On unequal lengths, negative or missing durations, or non-integer causes.

    Examples
    --------
    >>> aalen_johansen([1, 2, 3, 4], [1, 2, 0, 1])["cif"].round(3).tolist()
    [0.25, 0.25, 0.25, 0.625]
    """
    if not 0 < level < 1:
        raise AnalysisError(f"level must be strictly between 0 and 1; got {level}")
    t, c = _cause_inputs(durations, causes)
    times, inv = np.unique(t, return_inverse=True)
    d1 = np.bincount(inv, weights=(c == cause).astype(float))
    d2 = np.bincount(inv, weights=((c != cause) & (c > 0)).astype(float))
    total = np.bincount(inv)
    if entry is None:
        n = len(t) - np.concatenate([[0], np.cumsum(total)[:-1]])
    else:
        t0 = np.asarray(entry, dtype=float)
        if t0.shape != t.shape or np.any(t0 >= t):
            raise AnalysisError("entry must have one value per duration, each before it")
        n = np.array([np.sum((t0 < u) & (t >= u)) for u in times])
    f = np.zeros(len(times))
    var = np.zeros(len(times))
    s, cif, v1, v2, v3 = 1.0, 0.0, 0.0, 0.0, 0.0
    for i in range(len(times)):  # Gray's variance, term by term as cmprsk's cinc.f
        nd1, nd2, rs = d1[i], d2[i], n[i]
        s_next = s * (rs - nd1 - nd2) / rs
        cif += s * nd1 / rs
        if nd2 > 0 and s_next > 0:
            t5 = 1 - (nd2 - 1) / (rs - 1) if nd2 > 1 else 1.0
            t6 = s * s * t5 * nd2 / (rs * rs)
            t3, t4 = 1 / s_next, cif / s_next
            v1, v2, v3 = v1 + t4 * t4 * t6, v2 + t3 * t4 * t6, v3 + t3 * t3 * t6
        if nd1 > 0:
            t5 = 1 - (nd1 - 1) / (rs - 1) if nd1 > 1 else 1.0
            t6 = s * s * t5 * nd1 / (rs * rs)
            t3 = 1 / s_next if s_next > 0 else 0.0
            t4 = 1 + t3 * cif
            v1, v2, v3 = v1 + t4 * t4 * t6, v2 + t3 * t4 * t6, v3 + t3 * t3 * t6
        f[i], var[i] = cif, v1 + cif * cif * v3 - 2 * cif * v2
        s = s_next
    se = np.sqrt(np.maximum(var, 0))
    z = float(sps.norm.ppf((1 + level) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * se / (f * np.abs(np.log(f)))
        low, high = f ** np.exp(half), f ** np.exp(-half)
    edge = (f <= 0) | (f >= 1)
    return pd.DataFrame(
        {
            "time": times,
            "n_at_risk": n.astype(int),
            "n_events": d1.astype(int),
            "n_competing": d2.astype(int),
            "n_censored": (total - d1 - d2).astype(int),
            "cif": f,
            "se": se,
            "ci_low": np.where(edge, f, low),
            "ci_high": np.where(edge, f, high),
        }
    )


def _censoring_left(t: np.ndarray, censored: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Kaplan–Meier of the censoring distribution just before each time in ``at``."""
    grid = np.unique(t[censored])
    if grid.size == 0:
        return np.ones(len(at))
    n = len(t) - np.searchsorted(np.sort(t), grid, side="left")
    d = np.array([np.sum(censored & (t == u)) for u in grid])
    g = np.cumprod(1 - d / n)
    return np.concatenate([[1.0], g])[np.searchsorted(grid, at, side="left")]


def _fg_weights(t: np.ndarray, c: np.ndarray, cause: int) -> tuple[np.ndarray, np.ndarray]:
    """Event times of ``cause`` and the (times x subjects) Fine–Gray risk-set weights."""
    times = np.unique(t[c == cause])
    g_times = _censoring_left(t, c == 0, times)
    g_own = _censoring_left(t, c == 0, t)
    at_risk = t[None, :] >= times[:, None]
    competed = (c[None, :] > 0) & (c[None, :] != cause) & ~at_risk
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(competed, g_times[:, None] / g_own[None, :], 0.0)
    return times, np.where(at_risk, 1.0, w)


def _fg_newton(x, t, c, cause, times, w, max_iter: int = 50, tol: float = 1e-10):
    beta = np.zeros(x.shape[1])
    events = [np.flatnonzero((c == cause) & (t == u)) for u in times]
    for _ in range(max_iter):
        r = np.exp(x @ beta)
        score, info = np.zeros_like(beta), np.zeros((len(beta), len(beta)))
        for j, dead in enumerate(events):
            wr = w[j] * r
            s0 = wr.sum()
            xbar = wr @ x / s0
            score += x[dead].sum(axis=0) - len(dead) * xbar
            info += len(dead) * ((x - xbar).T @ ((x - xbar) * wr[:, None]) / s0)
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError as exc:
            raise AnalysisError(
                "the Fine–Gray information matrix is singular (a covariate does not vary "
                "among the events of interest)"
            ) from exc
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            return beta, info, events
    raise AnalysisError("the Fine–Gray model did not converge (a covariate may separate events)")


def _fg_score_residuals(x, beta, w, events) -> np.ndarray:
    """Per subject: sum_t w_i(t) (x_i - xbar(t)) (dN_i(t) - r_i dLambda(t)) (Breslow)."""
    r = np.exp(x @ beta)
    resid = np.zeros_like(x)
    for j, dead in enumerate(events):
        wr = w[j] * r
        s0 = wr.sum()
        xbar = wr @ x / s0
        resid -= (x - xbar) * (wr * len(dead) / s0)[:, None]
        resid[dead] += x[dead] - xbar
    return resid


def fine_gray(
    df: pd.DataFrame,
    duration: str,
    cause_col: str,
    covariates: Sequence[str],
    cause: int = 1,
    cluster: str | None = None,
    *,
    report: str | None = None,
    level: float = 0.95,
    name: str = "",
    hypothesis: str = "",
) -> tuple[pd.DataFrame, Result]:
    """Fine & Gray (1999) subdistribution-hazard regression for one ending.

    A weighted Cox model with Breslow ties: subjects with a competing ending stay in the risk
    set with weight G(t-) / G(T-), G the Kaplan–Meier of censoring (weights as
    ``cmprsk::crr``). The covariance is the sandwich of the weighted score residuals, summed
    within ``cluster`` when given, else by subject (``coxph(..., cluster=id)`` on
    ``survival::finegray`` data). Covariates are fixed per subject.

    Parameters
    ----------
    df : DataFrame
        One row per subject.
    duration, cause_col : str
        Time to the ending or censoring; ending code (0 = censored).
    covariates : list of str
        Numeric or boolean covariate columns.
    cause : int
        The ending modelled.
    cluster : str, optional
        Cluster column for the robust covariance (at least three clusters).
    report, level, name, hypothesis
        As for :func:`research.survival.cox_ph`.

    Returns
    -------
    table : DataFrame
        ``term, coef, se, z, p, shr, shr_ci_low, shr_ci_high``.
    result : Result
        ``estimate`` is the subdistribution hazard ratio of ``report``.

    Raises
    ------
    AnalysisError
        Missing columns, no events of ``cause``, a constant or non-numeric covariate, fewer
        than three clusters, or no convergence.
    """
    covariates = list(covariates) if not isinstance(covariates, str) else []
    if not covariates:
        raise AnalysisError("covariates must be a non-empty list of columns")
    report = report or covariates[0]
    if report not in covariates:
        raise AnalysisError(f"report must be one of the covariates {covariates!r}; got {report!r}")
    data = _complete(df, [duration, cause_col, *covariates, cluster])
    t, c = _cause_inputs(data[duration], data[cause_col])
    x = np.column_stack([_numeric(data[v], f"covariate {v!r}") for v in covariates])
    flat = [v for v, col in zip(covariates, x.T, strict=True) if np.ptp(col) == 0]
    if flat or not (c == cause).any():
        raise AnalysisError(
            f"Fine–Gray needs events of cause {cause} and varying covariates; constant: {flat}"
        )
    times, w = _fg_weights(t, c, cause)
    beta, info, events = _fg_newton(x, t, c, cause, times, w)
    resid = _fg_score_residuals(x, beta, w, events)
    if cluster:
        groups = pd.factorize(data[cluster])[0]
        _n_clusters_ok(len(np.unique(groups)), cluster)
        resid = np.vstack([resid[groups == g].sum(axis=0) for g in np.unique(groups)])
    inv = np.linalg.inv(info)
    cov = inv @ (resid.T @ resid) @ inv
    se = np.sqrt(np.diag(cov))
    z = float(sps.norm.ppf((1 + level) / 2))
    table = pd.DataFrame({"term": covariates, "coef": beta, "se": se, "z": beta / se}).assign(
        p=lambda d: 2 * sps.norm.sf(np.abs(d["z"])),
        shr=np.exp(beta),
        shr_ci_low=np.exp(beta - z * se),
        shr_ci_high=np.exp(beta + z * se),
        se_model=np.sqrt(np.diag(inv)),
    )
    row = table.set_index("term").loc[report]
    result = Result(
        name=name or f"subdistribution hazard ratio of {report}",
        estimate=float(row["shr"]),
        ci_low=float(row["shr_ci_low"]),
        ci_high=float(row["shr_ci_high"]),
        p=float(row["p"]),
        n=len(data),
        n_clusters=int(data[cluster].nunique()) if cluster else None,
        method="Fine-Gray subdistribution hazards (IPCW-weighted Cox, Breslow ties), robust SE"
        + (f" clustered by {cluster}" if cluster else " by subject"),
        hypothesis=hypothesis,
        extra=(
            ("log_shr", float(row["coef"])),
            ("se_log_shr", float(row["se"])),
            ("n_events", int((c == cause).sum())),
            ("n_competing", int(((c > 0) & (c != cause)).sum())),
            ("level", level),
        ),
    )
    return table, result
