"""Hypothesis tests that return small frozen :class:`Result` objects.

Every function takes a DataFrame (or arrays), never mutates it, and returns either a
:class:`Result` (estimate, CI, p, n, clusters, method) or a tidy DataFrame. Anything that
cannot be computed as asked (a missing column, no variation, too few clusters) raises
:class:`~research.exceptions.AnalysisError` with a message that says what to change.

Methods and references
----------------------
* OLS with cluster-robust (CR1) standard errors and t(G - 1) inference, as Stata's
  ``vce(cluster)`` (Cameron & Miller 2015, "A practitioner's guide to cluster-robust
  inference").
* Permutation tests (Fisher's randomization inference), exact when the relabelings can be
  enumerated, else Monte Carlo with the (count + 1) / (B + 1) p-value (Phipson & Smyth 2010).
* Percentile bootstrap, by rows or by whole clusters (Cameron, Gelbach & Miller 2008).
* Kaplan–Meier with Greenwood variance and log(-log) confidence bands (Kalbfleisch & Prentice
  2002, sec. 1.4); median CI after Brookmeyer & Crowley (1982); log-rank test; Cox regression
  with Efron ties; Grambsch & Therneau (1994) residual check of proportional hazards.
* Benjamini & Hochberg (1995) false discovery rate adjustment.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats as sps
from statsmodels.duration.hazard_regression import PHReg

from .exceptions import AnalysisError

__all__ = [
    "Result",
    "bh_adjust",
    "bootstrap_ci",
    "cox_ph",
    "kaplan_meier",
    "km_median",
    "logrank_test",
    "ols_clustered",
    "ols_clustered_fit",
    "permutation_test",
    "ph_assumption_test",
]

_CHUNK = 1000  # relabelings evaluated per matrix product; bounds memory, not results


# --------------------------------------------------------------------------- the result


def _fmt(x: float | None) -> str:
    if x is None or not np.isfinite(x):
        return "NA"
    if x != 0 and (abs(x) < 0.01 or abs(x) >= 1e4):
        return f"{x:.3g}"
    return f"{x:.2f}"


def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


@dataclass(frozen=True)
class Result:
    """One estimate with its uncertainty, ready to print, tabulate or record.

    Attributes
    ----------
    name, hypothesis : str
        What was estimated (``"log-ratio gap"``) and the hypothesis it tests (``"H1"``).
    estimate : float
        The point estimate (a difference, coefficient, hazard ratio or test statistic).
    ci_low, ci_high : float or None
        Confidence limits; ``None`` when the method gives none. The level is
        ``extra["level"]`` when present, else 0.95.
    p : float or None
        Two-sided p-value, or ``None``.
    n, n_clusters : int, int or None
        Observations used, and clusters where inference is clustered.
    method : str
        How it was computed, in words (``"OLS, SE clustered by dyad"``).
    extra : tuple of (str, value) pairs
        Further details (standard error, df, seed, ...); a tuple keeps the object hashable.

    Examples
    --------
    >>> r = Result("log-ratio gap", -0.84, -1.6, -0.08, 0.031, 120, 35,
    ...            "OLS, SE clustered by dyad", hypothesis="H1")
    >>> print(r)
    H1 log-ratio gap: -0.84 [95% CI -1.60, -0.08], p = 0.031, n = 120, clusters = 35 (OLS, SE clustered by dyad)
    """  # noqa: E501

    name: str
    estimate: float
    ci_low: float | None
    ci_high: float | None
    p: float | None
    n: int
    n_clusters: int | None
    method: str
    hypothesis: str = ""
    extra: tuple = ()

    def __post_init__(self) -> None:
        keys = [pair[0] for pair in self.extra]
        clash = set(keys) & {"name", "estimate", "ci_low", "ci_high", "p", "n", "n_clusters"}
        if len(set(keys)) != len(keys) or clash:
            raise ValueError(f"`extra` keys must be unique and not shadow a field; got {keys}")

    @property
    def level(self) -> float:
        """The confidence level of ``ci_low``/``ci_high`` (0.95 unless stated in ``extra``)."""
        return float(dict(self.extra).get("level", 0.95))

    def __str__(self) -> str:
        label = " ".join(part for part in (self.hypothesis, self.name) if part) or self.method
        text = f"{label}: {_fmt(self.estimate)}"
        if self.ci_low is not None and self.ci_high is not None:
            text += f" [{self.level * 100:g}% CI {_fmt(self.ci_low)}, {_fmt(self.ci_high)}]"
        if self.p is not None:
            text += f", {_fmt_p(self.p)}"
        text += f", n = {self.n}"
        if self.n_clusters is not None:
            text += f", clusters = {self.n_clusters}"
        return f"{text} ({self.method})"

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict, with ``extra`` as a nested dict."""
        out = asdict(self)
        out["extra"] = dict(self.extra)
        return out

    def to_frame(self) -> pd.DataFrame:
        """A one-row DataFrame: the fields, then one column per ``extra`` key."""
        row = {k: v for k, v in self.to_dict().items() if k != "extra"}
        row.update(dict(self.extra))
        return pd.DataFrame([row])


# --------------------------------------------------------------------------- validation


def _require_columns(df: pd.DataFrame, columns: Sequence[str | None]) -> None:
    for col in columns:
        if col is not None and col not in df.columns:
            raise AnalysisError(
                f"column {col!r} is not in the data; available columns: "
                f"{', '.join(map(str, df.columns))}"
            )


def _complete(df: pd.DataFrame, columns: Sequence[str | None]) -> pd.DataFrame:
    """Rows with no missing value in ``columns`` (a new frame; ``df`` is untouched)."""
    cols = [c for c in columns if c is not None]
    _require_columns(df, cols)
    out = df.dropna(subset=cols)
    if out.empty:
        raise AnalysisError(f"no rows are complete in the columns {cols}")
    return out


def _binary(values: pd.Series, what: str) -> np.ndarray:
    """A True/False (or 1/0) column as a bool array; anything else is an error."""
    uniq = pd.unique(values)
    if not set(uniq.tolist()) <= {True, False}:
        raise AnalysisError(
            f"{what} must be boolean (True/False or 1/0); found values such as "
            f"{sorted(map(str, uniq))[:5]}"
        )
    return values.to_numpy().astype(bool)


def _numeric(values: pd.Series, what: str) -> np.ndarray:
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        raise AnalysisError(f"{what} must be numeric; it has dtype {values.dtype}")
    return values.to_numpy(dtype=float)


def _n_clusters_ok(n_clusters: int, cluster: str, minimum: int = 3) -> None:
    if n_clusters < minimum:
        raise AnalysisError(
            f"clustered inference needs at least {minimum} clusters; column {cluster!r} "
            f"has {n_clusters} in the complete rows"
        )


# --------------------------------------------------------------------------- OLS


def _formula_columns(formula: str, df: pd.DataFrame) -> list[str]:
    """Columns of ``df`` the formula refers to: bare names, ``Q("...")`` and backticks."""
    names = set(re.findall(r"[A-Za-z_]\w*", formula))
    names |= set(re.findall(r"Q\(\s*['\"](.+?)['\"]\s*\)", formula))
    names |= set(re.findall(r"`([^`]+)`", formula))
    return [c for c in df.columns if c in names]


def _formula_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [NameError, KeyError, ValueError, SyntaxError]
    try:
        from patsy import PatsyError

        errors.append(PatsyError)
    except ImportError:  # statsmodels may use formulaic instead
        pass
    try:
        from formulaic.errors import FormulaicError

        errors.append(FormulaicError)
    except ImportError:
        pass
    return tuple(errors)


def ols_clustered_fit(df: pd.DataFrame, formula: str, cluster: str):
    """Fit OLS by formula with cluster-robust standard errors; return the statsmodels results.

    Rows with a missing value in any column the formula names, or in ``cluster``, are
    dropped first, so that the cluster labels line up with the rows statsmodels uses.
    Standard errors are CR1 (``cov_type="cluster"``) and inference uses t with G - 1
    degrees of freedom (``use_t=True``), as Stata's ``vce(cluster)``.

    Parameters
    ----------
    df : DataFrame
    formula : str
        A statsmodels formula, e.g. ``"log_ratio ~ allied + C(decade)"``.
    cluster : str
        Column whose values define the clusters (e.g. ``"dyad"``).

    Returns
    -------
    statsmodels RegressionResultsWrapper

    Raises
    ------
    AnalysisError
        If a column is missing, the formula cannot be built, there are fewer than three
        clusters, or the design matrix is rank-deficient.

    Examples
    --------
    >>> fit = ols_clustered_fit(frame, "log_ratio ~ allied", cluster="dyad")  # doctest: +SKIP
    """
    _require_columns(df, [cluster])
    data = _complete(df, [*_formula_columns(formula, df), cluster])
    groups = pd.factorize(data[cluster])[0]
    _n_clusters_ok(len(np.unique(groups)), cluster)
    try:
        model = smf.ols(formula, data=data)
    except _formula_errors() as exc:
        raise AnalysisError(
            f"cannot build the model {formula!r}: {exc}. Available columns: "
            f"{', '.join(map(str, df.columns))}"
        ) from exc
    if int(model.nobs) != len(data):
        raise AnalysisError(
            f"the formula {formula!r} produced missing values in {len(data) - int(model.nobs)} "
            "row(s); drop or transform those rows before fitting"
        )
    if np.linalg.matrix_rank(model.exog) < model.exog.shape[1]:
        raise AnalysisError(
            f"the design of {formula!r} is rank-deficient (a term has no variation or terms "
            f"are collinear); terms: {', '.join(model.exog_names)}"
        )
    return model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)


def ols_clustered(
    df: pd.DataFrame, formula: str, coef: str, cluster: str, name: str = "", hypothesis: str = ""
) -> Result:
    """One OLS coefficient with its cluster-robust 95% CI and p-value.

    See :func:`ols_clustered_fit` for the handling of missing values and the inference.

    Parameters
    ----------
    df, formula, cluster
        As for :func:`ols_clustered_fit`.
    coef : str
        The model term to report, as statsmodels names it (``"allied[T.True]"``).
    name, hypothesis : str
        Labels carried into the :class:`Result`.

    Returns
    -------
    Result
        ``estimate`` is the coefficient; ``extra`` holds ``se``, ``df`` and ``formula``.

    Raises
    ------
    AnalysisError
        As :func:`ols_clustered_fit`, or if ``coef`` is not a model term (the terms are listed).

    Examples
    --------
    >>> ols_clustered(frame, "log_ratio ~ allied", "allied[T.True]", "dyad")  # doctest: +SKIP
    """
    fit = ols_clustered_fit(df, formula, cluster)
    if coef not in fit.params.index:
        raise AnalysisError(
            f"coefficient {coef!r} is not in the model; its terms are: "
            f"{', '.join(fit.params.index)}"
        )
    low, high = fit.conf_int(alpha=0.05).loc[coef]
    n_clusters = len(np.unique(fit.cov_kwds["groups"]))
    return Result(
        name=name or coef,
        estimate=float(fit.params[coef]),
        ci_low=float(low),
        ci_high=float(high),
        p=float(fit.pvalues[coef]),
        n=int(fit.nobs),
        n_clusters=n_clusters,
        method=f"OLS, SE clustered by {cluster}",
        hypothesis=hypothesis,
        extra=(("se", float(fit.bse[coef])), ("df", n_clusters - 1), ("formula", formula)),
    )


# --------------------------------------------------------------------------- permutation


def _units(
    y: np.ndarray, z: np.ndarray, clusters: pd.Series | None, group: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per assignment unit: outcome sum, row count and treatment (rows, or whole clusters)."""
    if clusters is None:
        return y, np.ones_like(y), z
    codes = pd.factorize(clusters)[0]
    treated = np.bincount(codes, weights=z.astype(float))
    count = np.bincount(codes).astype(float)
    if np.any((treated > 0) & (treated < count)):
        raise AnalysisError(
            f"group {group!r} varies within cluster {clusters.name!r}; a cluster-level "
            "permutation needs the treatment to be constant within each cluster"
        )
    return np.bincount(codes, weights=y), count, treated > 0


def _mean_diffs(assign: np.ndarray, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Difference in row means, treated minus control, for each row of ``assign``."""
    a = assign.astype(float)
    s1, m1 = a @ sums, a @ counts
    return s1 / m1 - (sums.sum() - s1) / (counts.sum() - m1)


def _exact_assignments(n_units: int, n_treated: int) -> Iterator[np.ndarray]:
    combos = itertools.combinations(range(n_units), n_treated)
    while chunk := list(itertools.islice(combos, _CHUNK)):
        assign = np.zeros((len(chunk), n_units), dtype=bool)
        assign[np.repeat(np.arange(len(chunk)), n_treated), np.ravel(chunk)] = True
        yield assign


def _random_assignments(z: np.ndarray, n: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    for start in range(0, n, _CHUNK):
        yield rng.permuted(np.tile(z, (min(_CHUNK, n - start), 1)), axis=1)


def permutation_test(
    df: pd.DataFrame,
    outcome: str,
    group: str,
    n_resamples: int = 9999,
    seed: int = 0,
    cluster: str | None = None,
    *,
    name: str = "",
    hypothesis: str = "",
) -> Result:
    """Difference in means (group True minus False) with a two-sided permutation p-value.

    Rows missing ``outcome``, ``group`` or ``cluster`` are dropped. When the number of
    distinct relabelings, C(units, treated units), is at most ``n_resamples``, all are
    enumerated and the p-value is exact; otherwise ``n_resamples`` random relabelings are
    drawn from ``numpy.random.default_rng(seed)`` and p = (count + 1) / (n_resamples + 1),
    which is never zero (Phipson & Smyth 2010). "At least as extreme" means
    ``|diff*| >= |diff|`` up to floating-point rounding. With ``cluster``, whole clusters are
    relabelled (cluster-level assignment) while the statistic stays the row-level difference.

    Parameters
    ----------
    df : DataFrame
    outcome : str
        Numeric outcome column.
    group : str
        Boolean (or 0/1) treatment column.
    n_resamples : int
        Monte Carlo relabelings, and the cut-off for exact enumeration.
    seed : int
        Seed of the random generator; the result is deterministic given it.
    cluster : str, optional
        Column of assignment clusters; ``group`` must be constant within each.
    name, hypothesis : str
        Labels carried into the :class:`Result`.

    Returns
    -------
    Result
        ``ci_low``/``ci_high`` are ``None``; ``extra`` says whether p is exact.

    Raises
    ------
    AnalysisError
        Missing column, non-binary or constant ``group``, or ``group`` varying within a cluster.

    Examples
    --------
    >>> permutation_test(frame, "log_ratio", "allied", cluster="dyad")  # doctest: +SKIP
    """
    if n_resamples < 1:
        raise AnalysisError(f"n_resamples must be a positive integer; got {n_resamples}")
    data = _complete(df, [outcome, group, cluster])
    y = _numeric(data[outcome], f"outcome {outcome!r}")
    z = _binary(data[group], f"group {group!r}")
    sums, counts, units = _units(y, z, data[cluster] if cluster else None, group)
    n_treated = int(units.sum())
    if n_treated in (0, len(units)):
        raise AnalysisError(f"group {group!r} has no variation: every unit is {bool(units[0])}")
    observed = float(_mean_diffs(units[None, :], sums, counts)[0])
    exact = math.comb(len(units), n_treated) <= n_resamples
    if exact:
        draws = _exact_assignments(len(units), n_treated)
    else:
        draws = _random_assignments(units, n_resamples, np.random.default_rng(seed))
    tol = 1e-9 * float(np.max(np.abs(y - y.mean())))
    hits = total = 0
    for assign in draws:
        hits += int(np.sum(np.abs(_mean_diffs(assign, sums, counts)) >= abs(observed) - tol))
        total += len(assign)
    p = hits / total if exact else (hits + 1) / (n_resamples + 1)
    how = f"exact over {total} relabelings" if exact else f"Monte Carlo, {n_resamples} draws"
    by = f", labels permuted by {cluster}" if cluster else ""
    return Result(
        name=name or f"difference in mean {outcome}",
        estimate=observed,
        ci_low=None,
        ci_high=None,
        p=float(p),
        n=len(y),
        n_clusters=len(units) if cluster else None,
        method=f"permutation test, {how}{by}",
        hypothesis=hypothesis,
        extra=(("exact", exact), ("n_relabelings", total), ("seed", seed)),
    )


# --------------------------------------------------------------------------- bootstrap


def _statistic_value(statistic: Callable[[pd.DataFrame], float], df: pd.DataFrame) -> float:
    value = statistic(df)
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(
            f"statistic must return a single number; it returned {type(value).__name__}"
        ) from exc


def _callable_name(statistic: Callable) -> str:
    label = getattr(statistic, "__name__", "")
    return label if label and not label.startswith("<") else "statistic"


def _resample_rows(
    df: pd.DataFrame, cluster: str | None, n_resamples: int, seed: int
) -> Iterator[np.ndarray]:
    """Positional row indices of each bootstrap sample (rows, or whole clusters)."""
    rng = np.random.default_rng(seed)
    if cluster is None:
        for _ in range(n_resamples):
            yield rng.integers(0, len(df), len(df))
        return
    codes = pd.factorize(df[cluster], sort=True)[0]
    blocks = [np.flatnonzero(codes == g) for g in range(codes.max() + 1)]
    for _ in range(n_resamples):
        yield np.concatenate([blocks[g] for g in rng.integers(0, len(blocks), len(blocks))])


def bootstrap_ci(
    df: pd.DataFrame,
    statistic: Callable[[pd.DataFrame], float],
    n_resamples: int = 2000,
    seed: int = 0,
    cluster: str | None = None,
    level: float = 0.95,
    *,
    name: str = "",
    hypothesis: str = "",
) -> Result:
    """Percentile bootstrap confidence interval of ``statistic(df)``.

    Each resample draws rows with replacement or, with ``cluster``, whole clusters with
    replacement (a cluster drawn twice appears twice, keeping its label). Resamples come from
    ``numpy.random.default_rng(seed)``, so the interval is deterministic given the seed.
    Each resample is passed to ``statistic`` with a fresh 0..n-1 index.

    Parameters
    ----------
    df : DataFrame
    statistic : callable
        Maps a DataFrame to one number.
    n_resamples : int
    seed : int
    cluster : str, optional
        Column of resampling clusters (no missing values).
    level : float
        Confidence level, strictly between 0 and 1.
    name, hypothesis : str
        Labels carried into the :class:`Result`.

    Returns
    -------
    Result
        ``estimate`` is ``statistic(df)``; ``p`` is ``None``.

    Raises
    ------
    AnalysisError
        Bad ``level``/``n_resamples``, missing cluster column or values, too few clusters,
        or a statistic that is not finite in some resample.

    Examples
    --------
    >>> bootstrap_ci(frame, lambda d: d["log_ratio"].median(), cluster="dyad")  # doctest: +SKIP
    """
    if not 0 < level < 1 or n_resamples < 1:
        raise AnalysisError(f"need 0 < level < 1 and n_resamples >= 1; got {level}, {n_resamples}")
    if cluster is not None:
        _require_columns(df, [cluster])
        if df[cluster].isna().any():
            raise AnalysisError(f"cluster column {cluster!r} has missing values; drop them first")
        _n_clusters_ok(df[cluster].nunique(), cluster, minimum=2)
    estimate = _statistic_value(statistic, df)
    draws = np.array(
        [
            _statistic_value(statistic, df.iloc[rows].reset_index(drop=True))
            for rows in _resample_rows(df, cluster, n_resamples, seed)
        ]
    )
    if not np.all(np.isfinite(draws)):
        raise AnalysisError(
            f"the statistic was not finite in {int(np.sum(~np.isfinite(draws)))} of "
            f"{n_resamples} resamples (e.g. a resample without treated units); use a statistic "
            "defined on every resample or resample by cluster"
        )
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    unit = f"clusters of {cluster}" if cluster else "rows"
    return Result(
        name=name or _callable_name(statistic),
        estimate=estimate,
        ci_low=float(low),
        ci_high=float(high),
        p=None,
        n=len(df),
        n_clusters=int(df[cluster].nunique()) if cluster else None,
        method=f"percentile bootstrap, {n_resamples} resamples of {unit}, seed {seed}",
        hypothesis=hypothesis,
        extra=(("level", level), ("n_resamples", n_resamples), ("seed", seed)),
    )


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


# --------------------------------------------------------------------------- multiplicity


def bh_adjust(pvalues: Any) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (false discovery rate), NaN-preserving.

    For the m non-missing p-values sorted ascending, p_adj(i) = min over j >= i of
    p(j) * m / j, capped at 1, and returned in the input order. NaNs stay NaN and do not
    count towards m.

    Parameters
    ----------
    pvalues : array-like of float
        Values in [0, 1] or NaN.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same shape as the input.

    Raises
    ------
    AnalysisError
        If a value is outside [0, 1].

    Examples
    --------
    >>> bh_adjust([0.01, 0.04, 0.03, float("nan")]).round(3).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    p = np.asarray(pvalues, dtype=float)
    ok = ~np.isnan(p)
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise AnalysisError(f"p-values must lie in [0, 1]; got {p[ok][(p[ok] < 0) | (p[ok] > 1)]}")
    out = np.full(p.shape, np.nan)
    vals = p[ok]
    order = np.argsort(vals)
    ranked = vals[order] * len(vals) / np.arange(1, len(vals) + 1)
    adjusted = np.empty_like(vals)
    adjusted[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    out[ok] = adjusted
    return out


# --------------------------------------------------------------------------- sign-flip test


def _flip_units(df: pd.DataFrame, outcome: str, cluster: str | None):
    data = _complete(df, [outcome, cluster])
    values = _numeric(data[outcome], outcome)
    if cluster is None:
        return values, np.ones_like(values), len(values), None
    codes, _ = pd.factorize(data[cluster])
    sums = np.bincount(codes, weights=values)
    counts = np.bincount(codes).astype(float)
    return sums, counts, len(values), len(sums)


def signflip_test(
    df: pd.DataFrame,
    outcome: str,
    cluster: str | None = None,
    n_resamples: int = 9999,
    seed: int = 0,
    *,
    name: str = "",
    hypothesis: str = "",
) -> Result:
    """Mean of ``outcome`` with a two-sided sign-flip randomization p-value for mean = 0.

    Under H0 the outcome is symmetric about zero, so flipping the sign of each unit is as
    likely as not (the orientation test for a log ratio: who is "side A" carries no
    information). With ``cluster``, whole clusters flip together, which respects dependence
    within dyads. When 2**units <= ``n_resamples`` every flip pattern is enumerated and the
    p-value is exact; otherwise ``n_resamples`` random patterns give p = (count+1)/(n+1).

    Returns
    -------
    Result
        ``estimate`` is the row-level mean; no CI (use :func:`bootstrap_ci`).

    Raises
    ------
    AnalysisError
        With fewer than two units.
    """
    sums, counts, n, n_clusters = _flip_units(df, outcome, cluster)
    units = len(sums)
    if units < 2:
        raise AnalysisError(f"signflip_test needs at least two units; got {units}")
    total = counts.sum()
    observed = sums.sum() / total
    tol = 1e-12 * max(1.0, abs(observed))
    if 2**units <= n_resamples:
        signs = 1 - 2 * ((np.arange(2**units)[:, None] >> np.arange(units)) & 1)
        stats_ = signs @ sums / total
        p = float(np.mean(np.abs(stats_) >= abs(observed) - tol))
        how = f"exact over {2**units} sign patterns"
    else:
        rng = np.random.default_rng(seed)
        signs = rng.choice([-1.0, 1.0], size=(n_resamples, units))
        stats_ = signs @ sums / total
        p = float((np.sum(np.abs(stats_) >= abs(observed) - tol) + 1) / (n_resamples + 1))
        how = f"{n_resamples} random sign patterns, seed {seed}"
    unit = f"clusters of {cluster}" if cluster else "rows"
    return Result(
        name or f"mean {outcome}",
        float(observed),
        None,
        None,
        p,
        n,
        n_clusters,
        f"sign-flip randomization test ({how}; flips {unit})",
        hypothesis,
    )
