"""H1: the exchange ratio of the allied side, its inference and its robustness set.

The estimand is the **unadjusted** mean log ratio of the allied side over allied-versus-
non-allied deals (and, beside it, the dyad-weighted mean: the mean of the dyads' means).
Covariates enter only to describe heterogeneity (subgroup means), never to shrink the
standard error of the headline estimate. Inference respects that a few dyads hold most
deals: CR2 standard errors with Bell–McCaffrey degrees of freedom, the exact cluster
sign-flip test, the effective number of clusters, leave-one-dyad-out, and two-way and
dyadic-robust SEs (:mod:`research.inference`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import alternatives as alt
from . import inference as inf
from .exceptions import AnalysisError
from .randomization import signflip_test
from .ratios import manski_bounds
from .stats import Result, result_from_test

OUTCOME = "log_ratio_allied"
RUSSIA_UKRAINE = "RUS-UKR"
ISRAEL = "ISR"
#: The name under which notebook 01 records the confirmatory H1 test (workbook.toml).
PRIMARY = "mean log ratio, allied side (CR2, Bell-McCaffrey df)"


def _check(sample: pd.DataFrame) -> None:
    if len(sample) < 3 or sample["dyad"].nunique() < 3:
        raise AnalysisError(
            f"H1 needs at least 3 deals in 3 dyads with one allied side; got {len(sample)} deals "
            f"in {sample['dyad'].nunique()} dyads (relax the sample or the alliance definition)"
        )


def cr2_mean(sample: pd.DataFrame, name: str = PRIMARY, column: str = OUTCOME) -> Result:
    """The deal-level mean of ``column`` with a CR2 CI and p on Bell–McCaffrey df, by dyad."""
    data = sample.dropna(subset=[column])
    _check(data)
    t = inf.cr2_fit(data[column].to_numpy(dtype=float), data["dyad"]).test()
    g_star = inf.effective_clusters(data["dyad"])
    return result_from_test(
        name,
        t,
        n=len(data),
        n_clusters=int(data["dyad"].nunique()),
        method=(
            f"mean over deals; CR2 SE by dyad, t on {t['df']:.2f} Bell-McCaffrey df; "
            f"{g_star:.2f} effective clusters (CSS G*)"
        ),
        hypothesis="H1",
        extra=(("effective_clusters", g_star),),
    )


def dyad_mean(sample: pd.DataFrame) -> Result:
    """The mean of the dyads' mean log ratios (each dyad weighs the same), t(G - 1)."""
    _check(sample)
    means = sample.groupby("dyad", observed=True)[OUTCOME].mean()
    g_count = len(means)
    se = float(means.std(ddof=1) / np.sqrt(g_count))
    q = sps.t.ppf(0.975, g_count - 1)
    est = float(means.mean())
    return Result(
        name="dyad-weighted mean log ratio, allied side",
        estimate=est,
        ci_low=est - q * se,
        ci_high=est + q * se,
        p=float(2 * sps.t.sf(abs(est / se), g_count - 1)) if se > 0 else None,
        n=len(sample),
        n_clusters=g_count,
        method="mean of dyad means; t on G - 1 df",
        hypothesis="H1",
        extra=(("se", se), ("df", g_count - 1)),
    )


def _from_summary(name: str, t: dict, sample: pd.DataFrame, method: str, clusters: int) -> Result:
    return result_from_test(
        name, t, n=len(sample), n_clusters=clusters, method=method, hypothesis="H1"
    )


def h1_inference(sample: pd.DataFrame, seed: int = 0) -> dict[str, Result]:
    """The primary estimate and every inference on it (one sample, one estimand)."""
    _check(sample)
    y = sample[OUTCOME].to_numpy(dtype=float)
    members = [frozenset((a, b)) for a, b in zip(sample["side_a"], sample["side_b"])]
    n_states = len(frozenset().union(*members))
    return {
        "primary": cr2_mean(sample),
        "signflip": signflip_test(
            sample,
            OUTCOME,
            cluster="dyad",
            seed=seed,
            name="mean log ratio, exact sign-flip",
            hypothesis="H1",
        ),
        "dyad_mean": dyad_mean(sample),
        "dyad_signflip": signflip_test(
            sample,
            OUTCOME,
            cluster="dyad",
            cluster_weighted=True,
            seed=seed,
            name="dyad-weighted mean log ratio, exact sign-flip",
            hypothesis="H1",
        ),
        "twoway": _from_summary(
            "mean log ratio, two-way clustered (allied state x other side)",
            inf.twoway_se(y, sample["allied_side"], sample["other_side"]),
            sample,
            "mean; two-way cluster-robust SE (Cameron, Gelbach & Miller 2011), t(min G - 1)",
            int(min(sample["allied_side"].nunique(), sample["other_side"].nunique())),
        ),
        "dyadic": _from_summary(
            "mean log ratio, dyadic-robust",
            inf.dyadic_se(y, members),
            sample,
            "mean; dyadic-robust SE (Aronow, Samii & Assenova 2015), t(S - 1) for S parties",
            n_states,
        ),
    }


def leave_one_dyad_out(sample: pd.DataFrame) -> pd.DataFrame:
    """The mean log ratio with each dyad left out in turn (CR2/BM CI), largest shift first."""
    full = float(sample[OUTCOME].mean())
    rows = []
    for dyad, n_deals in sample["dyad"].value_counts().items():
        rest = sample[sample["dyad"] != dyad]
        if rest["dyad"].nunique() < 3:
            continue
        r = cr2_mean(rest, name=f"without {dyad}")
        rows.append(
            {
                "left_out": dyad,
                "deals_left_out": int(n_deals),
                "estimate": r.estimate,
                "shift": r.estimate - full,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "p": r.p,
                "n": r.n,
                "clusters": r.n_clusters,
            }
        )
    out = pd.DataFrame(rows)
    return out.reindex(out["shift"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def _israel(sample: pd.DataFrame) -> pd.Series:
    return sample["dyad"].str.split("-").map(lambda parts: ISRAEL in parts)


#: Named subsamples of the oriented sample: the measurement and composition checks.
SUBSAMPLES: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "all deals": lambda s: pd.Series(True, index=s.index),
    "without Russia-Ukraine": lambda s: s["dyad"] != RUSSIA_UKRAINE,
    "without Israel's (Arab-Israeli) dyads": lambda s: ~_israel(s),
    "without Russia-Ukraine and Arab-Israeli": lambda s: (
        (s["dyad"] != RUSSIA_UKRAINE) & ~_israel(s)
    ),
    "state vs state": lambda s: s["both_states"].astype(bool),
    "state vs non-state": lambda s: s["state_vs_nonstate"].astype(bool),
    "negotiated swaps (no all-for-all)": lambda s: ~s["all_for_all"].astype(bool),
    "all-for-all repatriations": lambda s: s["all_for_all"].astype(bool),
    "exact counts": lambda s: s["counts_exact"].fillna(False).astype(bool),
    "undisputed counts": lambda s: ~s["counts_disputed"].fillna(True).astype(bool),
    "complete counts": lambda s: s["counts_complete"].fillna(False).astype(bool),
    "exact, undisputed and complete": lambda s: (
        s["counts_exact"].fillna(False).astype(bool)
        & ~s["counts_disputed"].fillna(True).astype(bool)
        & s["counts_complete"].fillna(False).astype(bool)
    ),
    "from deal totals": lambda s: s["ratio_source"] == "deal_totals",
}


def subsample_table(sample: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The primary estimate (CR2/BM) and the exact sign-flip p on each named subsample;
    a subsample with fewer than 3 dyads is listed with its n and no estimate."""
    rows = []
    for label, rule in SUBSAMPLES.items():
        sub = sample[rule(sample).to_numpy()]
        row = {"sample": label, "n": len(sub), "clusters": int(sub["dyad"].nunique())}
        if len(sub) >= 3 and sub["dyad"].nunique() >= 3:
            r = cr2_mean(sub, name=label)
            flip = signflip_test(sub, OUTCOME, cluster="dyad", seed=seed)
            row |= {
                "estimate": r.estimate,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "p_cr2": r.p,
                "df_bm": dict(r.extra)["df"],
                "p_signflip": flip.p,
                "effective_clusters": dict(r.extra)["effective_clusters"],
            }
        rows.append(row)
    return pd.DataFrame(rows)


def bounds(oriented_all: pd.DataFrame) -> dict:
    """Manski bounds on the mean log ratio when deals with a missing count are included:
    their log ratio is set to the smallest and the largest observed one."""
    observed = oriented_all[OUTCOME]
    missing = int(observed.isna().sum())
    support = (float(observed.min()), float(observed.max()))
    out = manski_bounds(observed, missing, support)
    out["missing_by_dyad"] = (
        oriented_all.loc[observed.isna(), "dyad"].value_counts().astype(int).to_dict()
    )
    return out


def alternative_estimates(sample: pd.DataFrame, n_resamples: int = 2000, seed: int = 0):
    """Fractional logit on the allied share, Poisson with offset, and median regression."""
    return {
        "fractional_logit": alt.fractional_logit(sample, "released_allied", "released_other"),
        "poisson": alt.poisson_offset(sample, "released_allied", "released_other"),
        "median": alt.median_regression(sample, OUTCOME, n_resamples=n_resamples, seed=seed),
    }


def reference_distributions(oriented: pd.DataFrame) -> pd.DataFrame:
    """|log ratio| by alliance asymmetry: neither-allied and both-allied deals, where the
    orientation carries no meaning, are the reference for how unbalanced deals are."""
    d = oriented.dropna(subset=["log_ratio_a"])
    g = d.groupby("asymmetry")["abs_log_ratio"]
    return pd.DataFrame(
        {
            "deals": g.size(),
            "dyads": d.groupby("asymmetry")["dyad"].nunique(),
            "mean_abs_log_ratio": g.mean(),
            "median_abs_log_ratio": g.median(),
            "share_at_parity": g.apply(lambda s: float((s == 0).mean())),
        }
    )


HETEROGENEITY = {
    "state vs non-state opponent": "nonstate_opponent",
    "all-for-all repatriation": "all_for_all",
    "mediated": "mediated",
    "since 2022": "since_2022",
}


def heterogeneity(sample: pd.DataFrame) -> pd.DataFrame:
    """Differences in the mean log ratio by a covariate (CR2/BM), for description only."""
    s = sample.assign(since_2022=sample["era"].astype(object) == "since_2022")
    rows = []
    for label, col in HETEROGENEITY.items():
        z = s[col].astype(bool).to_numpy(dtype=float)
        if z.min() == z.max():
            continue
        x = np.column_stack([np.ones_like(z), z])
        t = inf.cr2_fit(s[OUTCOME].to_numpy(dtype=float), s["dyad"], x).test(1)
        rows.append(
            {
                "covariate": label,
                "deals_with": int(z.sum()),
                "difference": t["estimate"],
                "ci_low": t["ci_low"],
                "ci_high": t["ci_high"],
                "p": t["p"],
                "df_bm": t["df"],
            }
        )
    return pd.DataFrame(rows)


def _verdict(r_low: float, r_high: float) -> str:
    if r_high < 0:
        return "supports H1 (the interval lies below 0)"
    if r_low > 0:
        return "runs against H1 (the interval lies above 0)"
    return "cannot tell H1 from parity (the interval covers 0)"


def conclusion(main: Result, subs: pd.DataFrame, loo: pd.DataFrame, flip: Result) -> str:
    """A plain-words summary of H1 generated from the results (no hand-typed numbers)."""
    x = dict(main.extra)
    text = (
        f"The mean log ratio of the allied side is {main.estimate:.2f} (95% CI "
        f"{main.ci_low:.2f} to {main.ci_high:.2f}; CR2, {x['df']:.1f} Bell-McCaffrey df, "
        f"p = {main.p:.2f}; exact sign-flip p = {flip.p:.2f}) over {main.n} deals in "
        f"{main.n_clusters} dyads, which are worth {x['effective_clusters']:.1f} effective "
        f"clusters. This {_verdict(main.ci_low, main.ci_high)}."
    )
    if not loo.empty:
        top = loo.iloc[0]
        text += (
            f" Leaving out {top['left_out']} ({int(top['deals_left_out'])} deals) moves it to "
            f"{top['estimate']:.2f} (CI {top['ci_low']:.2f} to {top['ci_high']:.2f})."
        )
    est = subs.dropna(subset=["estimate"]) if "estimate" in subs else subs.iloc[0:0]
    below = int((est["ci_high"] < 0).sum()) if len(est) else 0
    above = int((est["ci_low"] > 0).sum()) if len(est) else 0
    survives = main.ci_high < 0 and below == len(est)
    text += (
        f" Of {len(est)} subsamples with an estimate, {below} have an interval below 0 and "
        f"{above} above 0. "
    )
    if main.ci_high < 0:
        text += (
            "The conclusion survives the robustness set."
            if survives
            else "The conclusion does not survive the robustness set."
        )
    else:
        text += (
            "No subsample turns this into evidence for H1."
            if below == 0
            else ("Some subsamples lean towards H1, but the confirmatory test does not.")
        )
    return text
