"""The specification curve of H1, with distinct specifications only and a joint test.

Every combination of alliance definition, ratio measure (living persons, or with remains),
sample and estimator is computed, and combinations that give the identical sample (same
deals with the same oriented log ratios) and the same estimator collapse into one row that
lists the labels it stands for. Each row carries its n and clusters.

The joint test follows Simonsohn, Simmons & Nelson (2020), "Specification curve analysis",
Nature Human Behaviour 4: 1208–1214: under the sharp null that no deal's ratio depends on
who is allied (each dyad's log ratios are symmetric about 0), the sign of every dyad's log
ratios is flipped at random, *the same flip in every specification*, and the curve is
recomputed. Three statistics are compared with their null distribution: the median
estimate, the number of specifications significant in the predicted (negative) direction,
and the number significant in either direction.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import alliances as al
from . import inference as inf
from .exceptions import AnalysisError
from .h1 import OUTCOME, RUSSIA_UKRAINE

__all__ = ["SAMPLES", "direction_summary", "h1_curve", "joint_test"]

ESTIMATORS = ("deal mean (CR2, BM df)", "dyad-weighted mean (t, G-1)")

#: Sample restrictions of the curve (the measurement and composition choices of H1).
SAMPLES = {
    "all deals": lambda s: np.ones(len(s), dtype=bool),
    "no all-for-all repatriations": lambda s: ~s["all_for_all"].astype(bool).to_numpy(),
    "state vs state": lambda s: s["both_states"].astype(bool).to_numpy(),
    "exact, undisputed, complete counts": lambda s: (
        s["counts_exact"].fillna(False).astype(bool)
        & ~s["counts_disputed"].fillna(True).astype(bool)
        & s["counts_complete"].fillna(False).astype(bool)
    ).to_numpy(),
    "without Russia-Ukraine": lambda s: (s["dyad"] != RUSSIA_UKRAINE).to_numpy(),
}


def _spec_key(sample: pd.DataFrame, estimator: str) -> tuple:
    values = tuple(sorted(zip(sample["deal_id"], np.round(sample[OUTCOME], 12))))
    return (estimator, values)


def _estimate(y: np.ndarray, dyads: pd.Series, estimator: str) -> dict:
    if estimator == ESTIMATORS[0]:
        t = inf.cr2_fit(y, dyads).test()
    else:
        means = pd.Series(y).groupby(dyads.to_numpy()).mean().to_numpy()
        g = len(means)
        se = float(means.std(ddof=1) / np.sqrt(g))
        q = sps.t.ppf(0.975, g - 1)
        est = float(means.mean())
        p = float(2 * sps.t.sf(abs(est / se), g - 1)) if se > 0 else 1.0
        t = {"estimate": est, "ci_low": est - q * se, "ci_high": est + q * se, "p": p, "df": g - 1}
    return t


def h1_curve(oriented_by: dict[tuple[str, bool], pd.DataFrame]) -> pd.DataFrame:
    """Distinct H1 specifications.

    Parameters
    ----------
    oriented_by : dict
        ``(definition, include_bodies) -> oriented sample`` (from
        :func:`research.hypotheses.orient` on deals with or without remains).

    Returns
    -------
    DataFrame
        One row per distinct specification: ``labels`` (the combinations it stands for),
        ``n_labels``, the estimator, ``estimate``, CI, ``p``, ``df``, ``n``, ``clusters``, and
        ``deal_ids`` / ``signs`` (for :func:`joint_test`).
    """
    rows: dict[tuple, dict] = {}
    for (definition, bodies), oriented in oriented_by.items():
        for sample_label, rule in SAMPLES.items():
            sub = oriented[rule(oriented)]
            if len(sub) < 3 or sub["dyad"].nunique() < 3:
                continue
            for estimator in ESTIMATORS:
                label = f"{definition} | {'with' if bodies else 'no'} remains | {sample_label}"
                key = _spec_key(sub, estimator)
                if key in rows:
                    rows[key]["labels"].append(label)
                    continue
                t = _estimate(sub[OUTCOME].to_numpy(dtype=float), sub["dyad"], estimator)
                rows[key] = {
                    "labels": [label],
                    "definition": definition,
                    "bodies": bodies,
                    "sample": sample_label,
                    "estimator": estimator,
                    **{k: t[k] for k in ("estimate", "ci_low", "ci_high", "p", "df")},
                    "n": len(sub),
                    "clusters": int(sub["dyad"].nunique()),
                    "data": sub[["deal_id", "dyad", OUTCOME]].reset_index(drop=True),
                }
    out = pd.DataFrame(list(rows.values()))
    if out.empty:
        raise AnalysisError("no H1 specification has 3 deals in 3 dyads")
    out["n_labels"] = out["labels"].map(len)
    out["labels"] = out["labels"].map(" ; ".join)
    return out.sort_values("estimate").reset_index(drop=True)


def direction_summary(specs: pd.DataFrame, predicted_sign: int, alpha: float = 0.05) -> dict:
    """Counts and shares of distinct specifications by sign and significance."""
    sign = np.sign(specs["estimate"].to_numpy())
    sig = specs["p"].to_numpy() < alpha
    n = len(specs)
    return {
        "n_specs": n,
        "share_predicted_sign": float(np.mean(sign == predicted_sign)),
        "share_significant_predicted": float(np.mean(sig & (sign == predicted_sign))),
        "share_significant_opposite": float(np.mean(sig & (sign == -predicted_sign))),
        "n_significant_predicted": int(np.sum(sig & (sign == predicted_sign))),
        "n_significant_opposite": int(np.sum(sig & (sign == -predicted_sign))),
        "median_estimate": float(np.median(specs["estimate"])),
    }


def _flipped_curve(specs: pd.DataFrame, signs: np.ndarray, dyad_index: dict) -> tuple:
    """Estimates and p-values of every specification under each row of ``signs``."""
    est = np.empty((len(signs), len(specs)))
    pval = np.empty_like(est)
    for j, spec in enumerate(specs.itertuples()):
        data = spec.data
        codes = data["dyad"].map(dyad_index).to_numpy()
        y = data[OUTCOME].to_numpy(dtype=float)
        local, inverse = np.unique(codes, return_inverse=True)
        sums = np.bincount(inverse, weights=y)
        counts = np.bincount(inverse).astype(float)
        s = signs[:, local]
        n = len(y)
        if spec.estimator == ESTIMATORS[0]:
            # CR2 for a mean: A_g 1 = (1 - n_g / n)^(-1/2) 1, so the cluster score is
            # c_g (s_g sum_g - n_g ybar*); the BM df depends on the design only
            c = np.where(counts < n, 1 / np.sqrt(np.clip(1 - counts / n, 1e-12, None)), 0.0)
            ybar = s @ sums / n
            u = c * (s * sums - ybar[:, None] * counts)
            se = np.sqrt(np.sum(u**2, axis=1)) / n
        else:
            m = s * (sums / counts)
            ybar = m.mean(axis=1)
            se = m.std(axis=1, ddof=1) / np.sqrt(m.shape[1])
        with np.errstate(divide="ignore", invalid="ignore"):
            tstat = np.where(se > 0, ybar / se, 0.0)
        est[:, j] = ybar
        pval[:, j] = 2 * sps.t.sf(np.abs(tstat), spec.df)
    return est, pval


def _stats(est: np.ndarray, pval: np.ndarray, predicted_sign: int, alpha: float) -> np.ndarray:
    sig = pval < alpha
    return np.column_stack(
        [
            np.abs(np.median(est, axis=1)),
            np.sum(sig & (np.sign(est) == predicted_sign), axis=1),
            np.sum(sig, axis=1),
        ]
    )


def joint_test(
    specs: pd.DataFrame,
    predicted_sign: int = -1,
    n_resamples: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Simonsohn–Simmons–Nelson joint test of the curve under the sharp null, by dyad flips.

    Returns
    -------
    DataFrame
        One row per statistic: observed value, p = (count at least as extreme + 1) /
        (``n_resamples`` + 1), and the number of dyads flipped.
    """
    dyads = sorted(set().union(*(set(d["dyad"]) for d in specs["data"])))
    index = {d: i for i, d in enumerate(dyads)}
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(n_resamples, len(dyads)))
    ones = np.ones((1, len(dyads)))
    observed = _stats(*_flipped_curve(specs, ones, index), predicted_sign, alpha)[0]
    null = _stats(*_flipped_curve(specs, signs, index), predicted_sign, alpha)
    tol = 1e-9
    p = (np.sum(null >= observed - tol, axis=0) + 1) / (n_resamples + 1)
    names = (
        "|median estimate|",
        "specifications significant in the predicted direction",
        "specifications significant in either direction",
    )
    return pd.DataFrame(
        {
            "statistic": names,
            "observed": observed,
            "p": p,
            "n_resamples": n_resamples,
            "dyads_flipped": len(dyads),
            "seed": seed,
        }
    )


def oriented_samples(
    deals_by_bodies: dict[bool, pd.DataFrame],
    orient,
    definitions: Iterable[str] = al.DEFINITIONS,
) -> dict[tuple[str, bool], pd.DataFrame]:
    """``(definition, bodies) -> oriented sample`` for :func:`h1_curve`."""
    return {
        (definition, bodies): orient(d, definition)
        for bodies, d in deals_by_bodies.items()
        for definition in definitions
    }


def collapse_identical(specs: pd.DataFrame, choice_cols: list[str]) -> pd.DataFrame:
    """Collapse specifications whose results are identical (same estimate, CI, n and
    clusters: the same sample under the same estimator) into one row listing the choices
    it stands for (``labels``, ``n_labels``). For curves computed elsewhere (H2)."""
    keys = ["estimate", "ci_low", "ci_high", "n", "clusters"]
    s = specs.assign(
        _label=specs[choice_cols].astype(str).agg(" | ".join, axis=1),
        **{f"_{k}": specs[k].round(10) for k in keys},
    )
    grouped = s.groupby([f"_{k}" for k in keys], sort=False, dropna=False)
    first = grouped.head(1).set_index([f"_{k}" for k in keys])
    labels = grouped["_label"].agg(" ; ".join)
    out = first.assign(labels=labels, n_labels=grouped.size()).reset_index(drop=True)
    return out.drop(columns=["_label"]).sort_values("estimate").reset_index(drop=True)
