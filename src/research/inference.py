"""Small-cluster inference for a linear estimand: CR2 with Bell–McCaffrey degrees of freedom,
the effective number of clusters, and two-way and dyadic-robust checks.

Methods and references
----------------------
* CR2 ("bias-reduced linearization") cluster-robust variance, Bell & McCaffrey (2002),
  with their Satterthwaite degrees of freedom, as R's ``clubSandwich::coef_test(vcov =
  "CR2", test = "Satterthwaite")`` computes them for OLS (Pustejovsky & Tipton 2018,
  "Small-sample methods for cluster-robust variance estimation", JBES 36(4)). The working
  model is the identity (OLS, unweighted), clubSandwich's default for ``lm``.
* Effective number of clusters G*, Carter, Schnepel & Steigerwald (2017), "Asymptotic
  behavior of a t-test robust to cluster heterogeneity", Review of Economics and Statistics
  99(4): 698–709: G* = G / (1 + Γ), Γ the squared coefficient of variation of the clusters'
  contributions to the variance of the estimate, computed under within-cluster correlation
  ``rho`` (1 is their conservative default: every deal of a dyad moves together).
* Two-way cluster-robust variance, Cameron, Gelbach & Miller (2011), "Robust inference with
  multiway clustering", JBES 29(2) (statsmodels' two-group ``cov_type="cluster"``).
* Dyadic-robust variance, Aronow, Samii & Assenova (2015), "Cluster-robust variance
  estimation for dyadic data", Political Analysis 23(4): any two deals that share a state
  may be correlated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from .exceptions import AnalysisError

__all__ = ["CR2Fit", "cr2_fit", "dyadic_se", "effective_clusters", "twoway_se"]


def _sym_inv_sqrt(m: np.ndarray) -> np.ndarray:
    """The symmetric inverse square root of a positive semi-definite matrix (pseudo-inverse
    on a zero eigenvalue, as clubSandwich does for a cluster whose rows are all leverage 1)."""
    vals, vecs = np.linalg.eigh((m + m.T) / 2)
    tol = 1e-12 * max(1.0, float(np.max(np.abs(vals))))
    inv = np.where(vals > tol, 1 / np.sqrt(np.clip(vals, tol, None)), 0.0)
    return (vecs * inv) @ vecs.T


def _design(x: np.ndarray | None, n: int) -> np.ndarray:
    if x is None:
        return np.ones((n, 1))
    x = np.asarray(x, dtype=float)
    x = x.reshape(n, -1)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise AnalysisError(f"the design matrix ({x.shape[1]} columns) is rank-deficient")
    return x


def _codes(clusters: Sequence, n: int) -> np.ndarray:
    codes = pd.factorize(pd.Series(list(clusters)))[0]
    if len(codes) != n:
        raise AnalysisError(f"{len(codes)} cluster labels for {n} observations")
    if np.any(codes < 0):
        raise AnalysisError("cluster labels have missing values; drop those rows first")
    return codes


@dataclass(frozen=True)
class CR2Fit:
    """OLS coefficients with their CR2 variance and Bell–McCaffrey degrees of freedom."""

    coef: np.ndarray
    vcov: np.ndarray
    df: np.ndarray  # Satterthwaite df of each coefficient
    n: int
    n_clusters: int

    def se(self) -> np.ndarray:
        """Standard errors."""
        return np.sqrt(np.diag(self.vcov))

    def test(self, j: int = 0, level: float = 0.95) -> dict[str, float]:
        """t statistic, two-sided p and CI of coefficient ``j`` on t(df_j)."""
        se, df = float(self.se()[j]), float(self.df[j])
        t = float(self.coef[j]) / se
        q = sps.t.ppf((1 + level) / 2, df)
        return {
            "estimate": float(self.coef[j]),
            "se": se,
            "t": t,
            "df": df,
            "p": float(2 * sps.t.sf(abs(t), df)),
            "ci_low": float(self.coef[j]) - q * se,
            "ci_high": float(self.coef[j]) + q * se,
        }


def cr2_fit(y: Sequence[float], clusters: Sequence, x: np.ndarray | None = None) -> CR2Fit:
    """OLS of ``y`` on ``x`` (default: a constant) with CR2 SEs and Bell–McCaffrey df.

    For each cluster g, the adjustment is A_g = (I - H_gg)^(-1/2) and the variance is
    (X'X)^-1 [sum_g X_g' A_g e_g e_g' A_g X_g] (X'X)^-1. The degrees of freedom of a
    contrast c are (sum_g q_g'q_g)^2 / sum_{g,h} (q_g'q_h)^2 with q_g = (I - H)_g' A_g X_g
    (X'X)^-1 c, under the working model Var(y) = sigma^2 I (Bell & McCaffrey 2002).

    Parameters
    ----------
    y : array-like
    clusters : array-like
        A label per observation.
    x : array, optional
        Design matrix (n x k) including the constant; default the constant only, so the
        coefficient is the mean of ``y``.

    Returns
    -------
    CR2Fit

    Raises
    ------
    AnalysisError
        Fewer than two clusters, missing labels, or a rank-deficient design.

    Examples
    --------
    >>> fit = cr2_fit([0.1, -0.4, 0.3, 0.0], ["a", "a", "b", "c"])
    >>> round(fit.test()["estimate"], 3)
    0.0
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    x = _design(x, n)
    codes = _codes(clusters, n)
    g_count = int(codes.max()) + 1 if n else 0
    if g_count < 2:
        raise AnalysisError(f"CR2 needs at least two clusters; got {g_count}")
    bread = np.linalg.inv(x.T @ x)
    coef = bread @ x.T @ y
    resid = y - x @ coef
    ih = np.eye(n) - x @ bread @ x.T  # I - H
    k = x.shape[1]
    meat = np.zeros((k, k))
    pieces = []  # (rows, A_g X_g bread): the cluster's contribution to any contrast
    for g in range(g_count):
        rows = np.flatnonzero(codes == g)
        a_g = _sym_inv_sqrt(ih[np.ix_(rows, rows)])
        u = x[rows].T @ a_g @ resid[rows]
        meat += np.outer(u, u)
        pieces.append((rows, a_g @ x[rows] @ bread))
    vcov = bread @ meat @ bread
    df = np.empty(k)
    for j in range(k):
        # q_g = (I - H)_g' (A_g X_g bread c) for c = e_j, stacked as columns of Q (n x G)
        q = np.column_stack([ih[rows].T @ m[:, j] for rows, m in pieces])
        gram = q.T @ q
        denom = np.sum(gram**2)  # zero for a dummy of a single-row cluster: df undefined
        df[j] = np.trace(gram) ** 2 / denom if denom > 0 else np.nan
    return CR2Fit(coef=coef, vcov=vcov, df=df, n=n, n_clusters=g_count)


def effective_clusters(
    clusters: Sequence, x: np.ndarray | None = None, j: int = 0, rho: float = 1.0
) -> float:
    """Carter, Schnepel & Steigerwald's (2017) effective number of clusters G*.

    gamma_g = a_g' Omega_g a_g with a_g = X_g (X'X)^-1 e_j and Omega_g = (1 - rho) I +
    rho 11' (the within-cluster correlation of the errors); G* = G / (1 + Gamma) with
    Gamma = mean((gamma_g - mean gamma)^2) / mean(gamma)^2. For a mean with rho = 1,
    gamma_g is the squared cluster size: one dyad holding half the deals leaves about 2.

    Examples
    --------
    >>> round(effective_clusters(["a"] * 10 + list("bcdefghijk")), 2)
    1.21
    """
    if not 0 <= rho <= 1:
        raise AnalysisError(f"rho must lie in [0, 1]; got {rho}")
    codes = _codes(clusters, len(clusters))
    n = len(codes)
    x = _design(x, n)
    a = x @ np.linalg.inv(x.T @ x)[:, j]
    g_count = int(codes.max()) + 1
    sums = np.bincount(codes, weights=a, minlength=g_count)
    squares = np.bincount(codes, weights=a**2, minlength=g_count)
    gamma = (1 - rho) * squares + rho * sums**2
    big_gamma = np.mean((gamma - gamma.mean()) ** 2) / gamma.mean() ** 2
    return float(g_count / (1 + big_gamma))


def twoway_se(y: Sequence[float], first: Sequence, second: Sequence) -> dict[str, float]:
    """The mean of ``y`` with a two-way cluster-robust SE (Cameron, Gelbach & Miller 2011),
    clusters ``first`` (e.g. the allied state) and ``second`` (the other state), via
    statsmodels; t with min(G1, G2) - 1 df, as they recommend."""
    import statsmodels.api as sm

    y = np.asarray(y, dtype=float)
    groups = np.column_stack([_codes(first, len(y)), _codes(second, len(y))])
    fit = sm.OLS(y, np.ones((len(y), 1))).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=False
    )
    g_min = int(min(groups[:, 0].max(), groups[:, 1].max())) + 1
    return _t_summary(float(fit.params[0]), float(fit.bse[0]), g_min - 1)


def dyadic_se(y: Sequence[float], members: Sequence[Sequence[str]]) -> dict[str, float]:
    """The mean of ``y`` with the dyadic-robust SE of Aronow, Samii & Assenova (2015).

    Observations i and j may be correlated whenever their member sets share an element
    (two deals with the USA on some side), so the variance of the mean is
    sum_{i,j: shared} e_i e_j / n^2, scaled by S / (S - 1) for S distinct members; t with
    S - 1 df.
    """
    y = np.asarray(y, dtype=float)
    sets = [frozenset(m) for m in members]
    if len(sets) != len(y):
        raise AnalysisError(f"{len(sets)} member sets for {len(y)} observations")
    states = sorted(set().union(*sets))
    incidence = np.array([[s in m for s in states] for m in sets], dtype=float)
    shared = (incidence @ incidence.T) > 0
    e = y - y.mean()
    s_count = len(states)
    var = float(e @ shared @ e) / len(y) ** 2 * s_count / (s_count - 1)
    return _t_summary(float(y.mean()), float(np.sqrt(var)), s_count - 1)


def _t_summary(estimate: float, se: float, df: float) -> dict[str, float]:
    q = sps.t.ppf(0.975, df)
    return {
        "estimate": estimate,
        "se": se,
        "df": float(df),
        "p": float(2 * sps.t.sf(abs(estimate / se), df)),
        "ci_low": estimate - q * se,
        "ci_high": estimate + q * se,
    }
