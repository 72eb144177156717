"""Hypothesis tests that return small frozen :class:`Result` objects.

Every function takes a DataFrame (or arrays), never mutates it, and returns either a
:class:`Result` (estimate, CI, p, n, clusters, method) or a tidy DataFrame. Anything that
cannot be computed as asked (a missing column, no variation, too few clusters) raises
:class:`~research.exceptions.AnalysisError` with a message that says what to change.

Survival analysis lives in :mod:`research.survival`.

Methods and references
----------------------
* OLS with cluster-robust (CR1) standard errors and t(G - 1) inference, as Stata's
  ``vce(cluster)`` (Cameron & Miller 2015, "A practitioner's guide to cluster-robust
  inference").
* Percentile bootstrap, by rows or by whole clusters (Cameron, Gelbach & Miller 2008).
* Benjamini & Hochberg (1995) false discovery rate adjustment, by statsmodels'
  ``multipletests(method="fdr_bh")``.

Randomization tests (permutation, cluster sign-flip) live in :mod:`research.randomization`,
CR2 / Bell–McCaffrey and the other small-cluster tools in :mod:`research.inference`; both
are re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from .exceptions import AnalysisError

__all__ = [
    "Result",
    "bh_adjust",
    "bootstrap_ci",
    "ols_clustered",
    "ols_clustered_fit",
]


def __getattr__(name: str):
    # the randomization tests moved to their own module; imported lazily (it imports us)
    if name in ("permutation_test", "signflip_test"):
        from . import randomization

        return getattr(randomization, name)
    raise AttributeError(f"module 'research.stats' has no attribute {name!r}")


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


def result_from_test(
    name: str,
    t: Mapping[str, float],
    *,
    n: int,
    n_clusters: int | None,
    method: str,
    hypothesis: str,
    extra: tuple = (),
) -> Result:
    """A :class:`Result` from a coefficient test given as a mapping with ``estimate``,
    ``ci_low``, ``ci_high``, ``p``, ``se`` and ``df`` (e.g. :meth:`research.inference.CR2Fit.test`);
    ``se`` and ``df`` go first into ``extra``."""
    return Result(
        name=name,
        estimate=t["estimate"],
        ci_low=t["ci_low"],
        ci_high=t["ci_high"],
        p=t["p"],
        n=n,
        n_clusters=n_clusters,
        method=method,
        hypothesis=hypothesis,
        extra=(("se", t["se"]), ("df", t["df"]), *extra),
    )


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


# --------------------------------------------------------------------------- multiplicity


def bh_adjust(pvalues: Any) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (false discovery rate), NaN-preserving.

    For the m non-missing p-values sorted ascending, p_adj(i) = min over j >= i of
    p(j) * m / j, capped at 1, and returned in the input order (statsmodels'
    ``multipletests(method="fdr_bh")``; R's ``p.adjust(method = "BH")``). NaNs stay NaN and
    do not count towards m.

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
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=float)
    ok = ~np.isnan(p)
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise AnalysisError(f"p-values must lie in [0, 1]; got {p[ok][(p[ok] < 0) | (p[ok] > 1)]}")
    out = np.full(p.shape, np.nan)
    if ok.any():
        out[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return out
