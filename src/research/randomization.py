"""Randomization inference: permutation tests of a difference in means and cluster
sign-flip tests of a mean.

* Permutation tests (Fisher's randomization inference), exact when the relabelings can be
  enumerated, else Monte Carlo with the (count + 1) / (B + 1) p-value (Phipson & Smyth 2010).
* Cluster sign-flip test of a mean (a symmetric-about-zero sharp null), exact by full
  enumeration of the 2^G patterns when G allows: the sum over clusters is split into two
  halves whose 2^(G/2) partial sums are sorted and matched (meet in the middle), so G up
  to 40 is enumerated exactly in seconds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
import pandas as pd

from .exceptions import AnalysisError
from .stats import Result, _binary, _complete, _numeric

__all__ = ["permutation_test", "signflip_pvalue_exact", "signflip_test"]

_CHUNK = 1000  # relabelings evaluated per matrix product; bounds memory, not results
#: exact enumeration of sign patterns up to this many clusters (2^20 partial sums a half)
EXACT_MAX_UNITS = 40

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


# --------------------------------------------------------------------------- sign-flip test


def _partial_sums(values: np.ndarray) -> np.ndarray:
    """All 2^k signed sums of ``values`` (doubling: each value adds +v and -v copies)."""
    sums = np.zeros(1)
    for v in values:
        sums = np.concatenate([sums + v, sums - v])
    return sums


def signflip_pvalue_exact(sums: np.ndarray, observed: float) -> tuple[float, int]:
    """Exact two-sided sign-flip p-value: the share of the 2^G patterns s with
    |sum_g s_g x_g| >= |observed| (up to rounding), by meet in the middle.

    The clusters are split into two halves; for each of the 2^(G/2) partial sums a of the
    first half, the partial sums b of the second half with a + b >= T or a + b <= -T are
    counted by binary search in the sorted second half (T = |observed| less a rounding
    tolerance; for T <= 0 every pattern counts).

    Returns
    -------
    (p, number of patterns)
    """
    x = np.asarray(sums, dtype=float)
    g_count = len(x)
    if g_count > EXACT_MAX_UNITS:
        raise AnalysisError(
            f"exact enumeration is limited to {EXACT_MAX_UNITS} clusters; got {g_count}"
        )
    tol = 1e-9 * max(1.0, float(np.sum(np.abs(x))))
    t = abs(observed) - tol
    total = 2**g_count
    if t <= 0:
        return 1.0, total
    left = _partial_sums(x[: g_count // 2])
    right = np.sort(_partial_sums(x[g_count // 2 :]))
    upper = len(right) - np.searchsorted(right, t - left, side="left")  # a + b >= t
    lower = np.searchsorted(right, -t - left, side="right")  # a + b <= -t
    return float((upper.sum() + lower.sum()) / total), total


def _flip_units(df: pd.DataFrame, outcome: str, cluster: str | None, cluster_weighted: bool):
    data = _complete(df, [outcome, cluster])
    values = _numeric(data[outcome], outcome)
    if cluster is None:
        return values, float(len(values)), len(values), None
    codes, _ = pd.factorize(data[cluster])
    sums = np.bincount(codes, weights=values)
    counts = np.bincount(codes).astype(float)
    if cluster_weighted:  # the mean of cluster means: each cluster's mean flips as one unit
        return sums / counts, float(len(sums)), len(values), len(sums)
    return sums, counts.sum(), len(values), len(sums)


def signflip_test(
    df: pd.DataFrame,
    outcome: str,
    cluster: str | None = None,
    n_resamples: int = 9999,
    seed: int = 0,
    *,
    cluster_weighted: bool = False,
    exact: bool | None = None,
    name: str = "",
    hypothesis: str = "",
) -> Result:
    """Mean of ``outcome`` with a two-sided sign-flip randomization p-value for mean = 0.

    Under H0 the outcome is symmetric about zero, so flipping the sign of each unit is as
    likely as not (the orientation test for a log ratio: who is "side A" carries no
    information). With ``cluster``, whole clusters flip together, which respects dependence
    within dyads. By default every one of the 2^units flip patterns is enumerated (exact
    p-value) when units <= 40 (:func:`signflip_pvalue_exact`), or when 2^units <=
    ``n_resamples``; otherwise ``n_resamples`` random patterns give p = (count+1)/(n+1).

    Parameters
    ----------
    cluster_weighted : bool
        Test the mean of the cluster means (each dyad weighs the same) instead of the mean
        over rows.
    exact : bool, optional
        Force (True) or forbid (False) full enumeration; default as described above.

    Returns
    -------
    Result
        ``estimate`` is the mean; no CI (use :func:`research.stats.bootstrap_ci`).

    Raises
    ------
    AnalysisError
        With fewer than two units, or ``exact=True`` beyond 40 units.

    Examples
    --------
    >>> signflip_test(pd.DataFrame({"y": [1.0, 2.0, -0.5]}), "y").p
    0.5
    """
    sums, total, n, n_clusters = _flip_units(df, outcome, cluster, cluster_weighted)
    units = len(sums)
    if units < 2:
        raise AnalysisError(f"signflip_test needs at least two units; got {units}")
    observed = float(sums.sum() / total)
    if exact is None:
        exact = units <= EXACT_MAX_UNITS or 2**units <= n_resamples
    if exact:
        p, patterns = signflip_pvalue_exact(sums, sums.sum())
        how = f"exact over {patterns} sign patterns"
    else:
        rng = np.random.default_rng(seed)
        signs = rng.choice([-1.0, 1.0], size=(n_resamples, units))
        stats_ = signs @ sums
        tol = 1e-9 * max(1.0, float(np.sum(np.abs(sums))))
        hits = np.sum(np.abs(stats_) >= abs(sums.sum()) - tol)
        p = float((hits + 1) / (n_resamples + 1))
        how = f"{n_resamples} random sign patterns, seed {seed}"
    unit = f"clusters of {cluster}" if cluster else "rows"
    weighting = ", mean of cluster means" if cluster_weighted and cluster else ""
    return Result(
        name or f"mean {outcome}",
        observed,
        None,
        None,
        p,
        n,
        n_clusters,
        f"sign-flip randomization test ({how}; flips {unit}{weighting})",
        hypothesis,
        extra=(("exact", bool(exact)),),
    )
