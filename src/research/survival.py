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

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from .exceptions import AnalysisError
from .stats import Result, _complete, _n_clusters_ok, _numeric

__all__ = [
    "cox_ph",
    "kaplan_meier",
    "km_median",
    "logrank_test",
    "ph_test",
    "robust_score_test",
    "split_spells",
    "time_interaction",
]


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


def km_median(durations: Any, events: Any, level: float = 0.95) -> tuple[float, float, float]:
    """Kaplan–Meier median survival time with a Brookmeyer–Crowley confidence interval.

    A thin wrapper of statsmodels' ``SurvfuncRight.quantile`` and ``quantile_ci`` (the
    interval inverts the log(-log) test, as SAS LIFETEST and R with ``conf.type="log-log"``).
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
    _z(level)
    t, e = _survival_inputs(durations, events)
    if not e.any():
        return (float("nan"),) * 3
    sf = SurvfuncRight(t, e.astype(float))
    median = float(sf.quantile(0.5))
    low, high = sf.quantile_ci(0.5, alpha=1 - level, method="cloglog")
    return tuple(float(x) if np.isfinite(x) else float("nan") for x in (median, low, high))


def logrank_test(
    durations: Any,
    events: Any,
    groups: Any,
    *,
    strata: Any = None,
    entry: Any = None,
    name: str = "",
    hypothesis: str = "",
) -> Result:
    """Log-rank test of equal survival across two or more groups (statsmodels ``survdiff``).

    Optionally stratified, and with delayed entry (a row is at risk after its entry time, as
    R's ``Surv(start, stop, event)``). Not adjusted for clustering: see
    :func:`robust_score_test` for the cluster-robust version of the same comparison.

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
        ``observed`` event counts per group (groups in sorted order).

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
    kw = {}
    if strata is not None and entry is not None:
        # statsmodels 0.15 survdiff does not subset entry by stratum (IndexError)
        raise AnalysisError(
            "logrank_test takes strata or entry, not both; use robust_score_test (its "
            "naive_chisq is the model-based score test) for a stratified test with entry"
        )
    if strata is not None:
        kw["strata"] = pd.factorize(pd.Series(np.asarray(strata, dtype=object)))[0]
    if entry is not None:
        kw["entry"] = np.asarray(entry, dtype=float)
    stat, p = survdiff(t, e.astype(float), codes, **kw)
    observed = np.bincount(codes[e], minlength=k)
    return Result(
        name=name or "log-rank chi-square",
        estimate=float(stat),
        ci_low=None,
        ci_high=None,
        p=float(p),
        n=len(t),
        n_clusters=None,
        method=f"log-rank test, chi-square with {k - 1} df"
        + (", stratified" if strata is not None else "")
        + (", delayed entry" if entry is not None else "")
        + " (not adjusted for clustering)",
        hypothesis=hypothesis,
        extra=(
            ("df", k - 1),
            ("groups", tuple(map(str, labels))),
            ("observed", tuple(int(x) for x in observed)),
        ),
    )


# --------------------------------------------------------------------------- Cox


def _covariate_list(covariates: Sequence[str]) -> list[str]:
    if isinstance(covariates, str) or not covariates:
        raise AnalysisError(f"covariates must be a non-empty list of columns; got {covariates!r}")
    return list(covariates)


def _cox_fit(df, duration, event, covariates, strata=None, cluster=None, entry=None):
    """Fit PHReg (Efron ties) on the complete rows; return (results, complete data).

    With ``entry`` the rows are (entry, duration] intervals. statsmodels counts a row as at
    risk at its own entry time (Stata's convention); R's ``Surv(start, stop, event)`` does
    not, and a spell split at t must not be at risk twice at t, so entries are moved to the
    next representable float. With ``cluster`` the covariance is the Lin & Wei (1989)
    sandwich V (sum_g L_g L_g') V over clusters, with Efron score residuals L as R's
    ``coxph``: statsmodels' ``fit(groups=...)`` uses Breslow-form residuals whatever the ties
    method (a 0.5% difference in the tests' tied data) and is NaN where a row is censored
    before the first event.
    """
    covariates = _covariate_list(covariates)
    data, t0, t, e, x, codes = _prepare(df, duration, event, covariates, strata, entry, cluster)
    flat = [c for c, col in zip(covariates, x.T, strict=True) if np.ptp(col) == 0]
    if flat or not e.any():
        raise AnalysisError(f"Cox regression needs events and varying covariates; constant: {flat}")
    if entry and np.any(t0 >= t):
        raise AnalysisError(f"every row's {entry!r} must be before its {duration!r}")
    model = PHReg(
        t,
        x,
        status=e.astype(float),
        entry=np.nextafter(t0, np.inf) if entry else None,
        strata=codes if strata else None,
        ties="efron",
    )
    try:
        fit = model.fit()
    except np.linalg.LinAlgError as exc:
        raise AnalysisError(
            f"the Cox model of {covariates!r} is not estimable: its information matrix is "
            "singular (a covariate does not vary among the events, or within the strata)"
        ) from exc
    if cluster:
        groups = pd.factorize(data[cluster])[0]
        _n_clusters_ok(len(np.unique(groups)), cluster)
        resid = _efron_score_residuals(x, np.asarray(fit.params), _event_times(t0, t, e, codes))
        per_cluster = np.vstack([resid[groups == g].sum(axis=0) for g in np.unique(groups)])
        naive = np.asarray(fit.normalized_cov_params)
        fit.cov_params_default = naive @ (per_cluster.T @ per_cluster) @ naive
    if not np.all(np.isfinite(fit.bse)):
        raise AnalysisError(
            f"the Cox model's standard errors are not finite (covariates {covariates}): a "
            "covariate may not vary within the risk sets (e.g. within strata)"
        )
    return fit, data


def _efron_score_residuals(x: np.ndarray, beta: np.ndarray, sets) -> np.ndarray:
    """Score residuals under Efron ties, sum_k (dN_i / d - w_ik r_i / S0_k) (x_i - xbar_k).

    At a time with d tied events, step k (0..d-1) down-weights the tied events by
    (1 - k / d); the residuals sum to the Efron score (R's ``residuals(fit, "score")``).
    """
    r = np.exp(x @ beta)
    resid = np.zeros_like(x)
    for _, risk, dead in sets:
        d = len(dead)
        is_dead = np.isin(risk, dead)
        xr = x[risk]
        for k in range(d):
            w = r[risk] * np.where(is_dead, 1 - k / d, 1.0)
            xbar = w @ xr / w.sum()
            resid[risk] -= (xr - xbar) * (w / w.sum())[:, None]
            resid[dead] += (x[dead] - xbar) / d
    return resid


def _require_identified(df: pd.DataFrame, event: str, report: str, strata: str | None) -> None:
    """Refuse a hazard ratio the data cannot identify: when every event has the same value of
    the reported covariate within each stratum that has events, the partial likelihood is
    monotone (the estimate runs to 0 or infinity), and a fitted number would be an artefact
    of the optimiser's stopping rule."""
    events = df[df[event].astype(float) > 0]
    if events.empty or report not in events:
        return
    groups = events.groupby(strata)[report] if strata and strata in events else None
    varies = (groups.nunique() > 1).any() if groups is not None else events[report].nunique() > 1
    if not varies:
        values = sorted(events[report].astype(float).unique().tolist())
        raise AnalysisError(
            f"the hazard ratio of {report!r} is not identified: every event"
            + (f" within each stratum of {strata!r}" if groups is not None else "")
            + f" has {report} = {values[0] if len(values) == 1 else values} (monotone likelihood)"
        )


def cox_ph(
    df: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    strata: str | None = None,
    cluster: str | None = None,
    *,
    entry: str | None = None,
    report: str | None = None,
    level: float = 0.95,
    name: str = "",
    hypothesis: str = "",
) -> tuple[pd.DataFrame, Result]:
    """Cox proportional-hazards regression (statsmodels ``PHReg``, Efron ties).

    Rows missing any used column are dropped. Covariates must be numeric or boolean (make
    dummies for categories). With ``strata`` each stratum has its own baseline hazard; with
    ``cluster`` the standard errors are the robust sandwich of Lin & Wei (1989) over clusters
    (statsmodels ``fit(groups=...)``, equal to R's ``coxph(..., cluster=)``); with ``entry``
    the rows are counting-process intervals (entry, duration], e.g. a spell split where a
    time-varying covariate changes (:func:`split_spells`). Wald CIs are exp(b +- z se).

    Parameters
    ----------
    df : DataFrame
    duration, event : str
        Columns of (exit) times and event indicators (1 = event, 0 = censored).
    covariates : list of str
        Covariate columns.
    strata, cluster, entry : str, optional
        Stratification, clustering and entry-time columns.
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
    _require_identified(df, event, report, strata)
    fit, data = _cox_fit(df, duration, event, covariates, strata, cluster, entry)
    z = _z(level)
    coef, se = np.asarray(fit.params), np.asarray(fit.bse)
    table = pd.DataFrame(
        {"term": list(covariates), "coef": coef, "se": se, "z": coef / se, "p": fit.pvalues}
    ).assign(hr=np.exp(coef), hr_ci_low=np.exp(coef - z * se), hr_ci_high=np.exp(coef + z * se))
    row = table.set_index("term").loc[report]
    method = "Cox PH, Efron ties" + (f", stratified by {strata}" if strata else "")
    method += ", counting-process rows" if entry else ""
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


# --------------------------------------------------------------------------- risk sets


def _event_times(t0, t, e, strata):
    """Per stratum and distinct event time: (at-risk rows, event rows), in time order."""
    out = []
    for s in np.unique(strata):
        rows = strata == s
        for u in np.unique(t[rows & e]):
            risk = np.flatnonzero(rows & (t0 < u) & (t >= u))
            out.append((u, risk, np.flatnonzero(rows & e & (t == u))))
    return out


def _efron_moments(x, risk, dead, r):
    """Efron-weighted sum of means and of covariances of x over a tied risk set."""
    d = len(dead)
    p = x.shape[1]
    xbar_sum, v_sum = np.zeros(p), np.zeros((p, p))
    is_dead = np.isin(risk, dead)
    for k in range(d):
        w = r[risk] * np.where(is_dead, 1 - k / d, 1.0)
        xr = x[risk]
        mean = w @ xr / w.sum()
        xbar_sum += mean
        v_sum += (xr - mean).T @ ((xr - mean) * w[:, None]) / w.sum()
    return xbar_sum, v_sum


def _prepare(df, duration, event, covariates, strata, entry, cluster=None):
    covariates = _covariate_list(covariates)
    data = _complete(df, [duration, event, *covariates, strata, entry, cluster])
    t, e = _survival_inputs(data[duration], data[event])
    x = np.column_stack([_numeric(data[c], f"covariate {c!r}") for c in covariates])
    t0 = data[entry].to_numpy(dtype=float) if entry else np.full(len(t), -np.inf)
    codes = pd.factorize(data[strata])[0] if strata else np.zeros(len(t), dtype=int)
    return data, t0, t, e, x, codes


def _km_left(t0, t, e, times):
    """Pooled Kaplan–Meier (with delayed entry) just before each of ``times``."""
    grid = np.unique(t[e])
    n = np.array([np.sum((t0 < u) & (t >= u)) for u in grid])
    d = np.array([np.sum(e & (t == u)) for u in grid])
    surv = np.cumprod(1 - d / n)
    idx = np.searchsorted(grid, times, side="left")  # steps strictly before each time
    return np.concatenate([[1.0], surv])[idx]


ZPH_TRANSFORMS = ("km", "identity", "log")


def ph_test(
    df: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    strata: str | None = None,
    *,
    entry: str | None = None,
    transform: str = "km",
) -> pd.DataFrame:
    """Grambsch–Therneau score test of proportional hazards, as R's ``cox.zph`` (survival 3).

    At the fitted Cox coefficients (Efron ties), the test adds g(t) x_j for each covariate
    and computes the score test of its coefficient being 0, using the full information matrix
    (not the older correlation approximation): for covariate j, U_j^2 times the (j, j) element
    of the inverse of the information over (x, g(t) x_j); the global test uses all terms.
    g is ``km`` (1 minus the left-continuous pooled Kaplan–Meier, R's default),
    ``identity`` or ``log`` of the event time. A small p flags a covariate whose effect
    changes over time.

    Parameters
    ----------
    df, duration, event, covariates, strata, entry
        As for :func:`cox_ph`.
    transform : str
        The time transform g.

    Returns
    -------
    DataFrame
        Columns ``term, chisq, df, p``, one row per covariate and a last ``GLOBAL`` row.

    Raises
    ------
    AnalysisError
        As :func:`cox_ph`, on an unknown transform, or with fewer than three events.

    Examples
    --------
    >>> ph_test(spells, "days", "event", ["allied_home"])  # doctest: +SKIP
    """
    if transform not in ZPH_TRANSFORMS:
        raise AnalysisError(f"transform must be one of {list(ZPH_TRANSFORMS)}; not {transform!r}")
    fit, _ = _cox_fit(df, duration, event, covariates, strata, None, entry)
    _, t0, t, e, x, codes = _prepare(df, duration, event, covariates, strata, entry)
    if e.sum() < 3:
        raise AnalysisError(f"the PH test needs at least 3 events; got {int(e.sum())}")
    r = np.exp(x @ np.asarray(fit.params))
    sets = _event_times(t0, t, e, codes)
    times = np.concatenate([np.repeat(u, len(dead)) for u, _, dead in sets])
    g_all = {
        "km": lambda: 1 - _km_left(t0, t, e, times),
        "identity": lambda: times,
        "log": lambda: np.log(times),
    }[transform]()
    g_all = g_all - g_all.mean()
    p = x.shape[1]
    u2 = np.zeros(p)
    info = np.zeros((2 * p, 2 * p))
    pos = 0
    for _, risk, dead in sets:
        g = g_all[pos]  # tied events share their time and hence g
        pos += len(dead)
        xbar_sum, v = _efron_moments(x, risk, dead, r)
        u2 += g * (x[dead].sum(axis=0) - xbar_sum)
        info += np.block([[v, g * v], [g * v, g * g * v]])
    if np.linalg.matrix_rank(info) < 2 * p:
        raise AnalysisError(
            "the PH score test is not computable: its information matrix is singular "
            "(too few events at distinct times for the time transform)"
        )
    rows = []
    for j, name in enumerate(covariates):
        jj = [*range(p), p + j]
        inv = np.linalg.inv(info[np.ix_(jj, jj)])
        stat = u2[j] ** 2 * inv[-1, -1]
        rows.append({"term": name, "chisq": stat, "df": 1, "p": sps.chi2.sf(stat, 1)})
    full_u = np.concatenate([np.zeros(p), u2])
    stat = float(full_u @ np.linalg.solve(info, full_u))
    rows.append({"term": "GLOBAL", "chisq": stat, "df": p, "p": sps.chi2.sf(stat, p)})
    return pd.DataFrame(rows)


def robust_score_test(
    df: pd.DataFrame,
    duration: str,
    event: str,
    covariate: str,
    cluster: str,
    strata: str | None = None,
    *,
    entry: str | None = None,
    name: str = "",
    hypothesis: str = "",
) -> Result:
    """Cluster-robust score (log-rank type) test of no effect of one covariate.

    The Cox score at beta = 0 with Breslow ties, U = sum_i L_i, with each row's score
    residual L_i = sum_t (x_i - xbar(t)) (dN_i(t) - Y_i(t) d(t) / n(t)); the robust
    variance sums the residuals within clusters, V = sum_g (sum_{i in g} L_i)^2 (Lin & Wei
    1989), and U^2 / V is chi-square with 1 df. For a group indicator this is the log-rank
    comparison with a variance that allows for correlation within clusters; it equals the
    "Robust" score test of R's ``coxph(..., ties="breslow", cluster=)``. ``extra`` holds the
    naive (model-based) score statistic for comparison.

    Parameters
    ----------
    df, duration, event, strata, entry
        As for :func:`cox_ph`.
    covariate : str
        The covariate tested (e.g. the group indicator).
    cluster : str
        Cluster column (at least three clusters).
    name, hypothesis : str
        Labels carried into the :class:`Result`.

    Returns
    -------
    Result
        ``estimate`` is the robust chi-square statistic.

    Raises
    ------
    AnalysisError
        As :func:`cox_ph`.
    """
    data, t0, t, e, x, codes = _prepare(df, duration, event, [covariate], strata, entry, cluster)
    groups = pd.factorize(data[cluster])[0]
    _n_clusters_ok(len(np.unique(groups)), cluster)
    x = x[:, 0]
    resid = np.zeros(len(t))
    info = 0.0
    for _, risk, dead in _event_times(t0, t, e, codes):
        n, d = len(risk), len(dead)
        xbar = x[risk].mean()
        resid[risk] -= (x[risk] - xbar) * d / n
        resid[dead] += x[dead] - xbar
        info += d * x[risk].var()
    u = resid.sum()
    robust = float(np.sum(np.bincount(groups, weights=resid) ** 2))
    stat = u * u / robust
    return Result(
        name=name or f"robust score test of {covariate}",
        estimate=float(stat),
        ci_low=None,
        ci_high=None,
        p=float(sps.chi2.sf(stat, 1)),
        n=len(t),
        n_clusters=len(np.unique(groups)),
        method=f"Cox score test at beta = 0 (Breslow), robust variance clustered by {cluster}",
        hypothesis=hypothesis,
        extra=(("score", float(u)), ("naive_chisq", float(u * u / info)), ("df", 1)),
    )


# --------------------------------------------------------------------------- splitting


def split_spells(
    df: pd.DataFrame, duration: str, event: str, cuts: Mapping[Any, Sequence[float]]
) -> pd.DataFrame:
    """Split spells into counting-process rows (start, stop] at the given times.

    ``cuts`` maps a row's index label to the times (on the duration scale) at which a
    time-varying covariate may change; cuts outside (0, duration) are ignored. Every row
    keeps its other columns; ``start``/``stop`` are the interval and ``event`` is 1 only on
    the last piece of a spell that ended in the event. The caller fills the covariate's value
    on each piece (at ``start``).

    Examples
    --------
    >>> d = pd.DataFrame({"t": [10.0], "e": [1]})
    >>> split_spells(d, "t", "e", {0: [4.0]})[["start", "stop", "e"]].values.tolist()
    [[0.0, 4.0, 0.0], [4.0, 10.0, 1.0]]
    """
    pieces = []
    for label, row in df.iterrows():
        end = float(row[duration])
        inner = sorted({float(c) for c in cuts.get(label, ()) if 0 < float(c) < end})
        bounds = [0.0, *inner, end]
        for i, (a, b) in enumerate(itertools.pairwise(bounds)):
            piece = row.copy()
            piece["start"], piece["stop"] = a, b
            piece[event] = float(row[event]) if i == len(bounds) - 2 else 0.0
            piece["spell_row"] = label
            pieces.append(piece)
    return pd.DataFrame(pieces).reset_index(drop=True)


def time_interaction(
    df: pd.DataFrame,
    duration: str,
    event: str,
    covariate: str,
    *,
    entry: str | None = None,
    transform: str = "log",
) -> pd.DataFrame:
    """Rows for a Cox model with a time-varying coefficient, beta(t) = b0 + b1 g(t).

    Every spell is split at every event time, so each row's interval (start, stop] holds at
    most one event time, at its stop; the column ``f"{covariate}_x_t"`` = covariate * g(stop)
    is then exact at each event time (as R's ``tt()`` term). ``g`` is ``log`` (of days) or
    ``identity``. Fit with ``cox_ph(out, "stop", event, [covariate, f"{covariate}_x_t", ...],
    entry="start")``; the hazard ratio at time t is exp(b0 + b1 g(t)).
    """
    if transform not in ("log", "identity"):
        raise AnalysisError(f"transform must be log or identity; not {transform!r}")
    data = df.reset_index(drop=True)
    starts = data[entry].to_numpy(dtype=float) if entry else np.zeros(len(data))
    stops = data[duration].to_numpy(dtype=float)
    times = np.unique(stops[data[event].astype(bool).to_numpy()])
    lo = np.searchsorted(times, starts, side="right")  # first event time after the start
    hi = np.searchsorted(times, stops, side="left")  # first event time at or after the stop
    n_pieces = hi - lo + 1
    row = np.repeat(np.arange(len(data)), n_pieces)
    k = np.arange(len(row)) - np.repeat(np.cumsum(n_pieces) - n_pieces, n_pieces)
    last = k == n_pieces[row] - 1
    padded = np.concatenate([times, [np.inf]])
    piece_start = np.where(k == 0, starts[row], padded[np.maximum(lo[row] + k - 1, 0)])
    piece_stop = np.where(last, stops[row], padded[np.minimum(lo[row] + k, len(times))])
    out = data.iloc[row].reset_index(drop=True)
    out["start"], out["stop"] = piece_start, piece_stop
    out[event] = np.where(last, out[event].astype(float), 0.0)
    g = np.log(out["stop"].astype(float)) if transform == "log" else out["stop"].astype(float)
    out[f"{covariate}_x_t"] = out[covariate].astype(float) * g
    return out
