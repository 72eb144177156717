"""H3 (format) and H4 (mediation, humanitarian bodies): balance and speed of deals.

Balance is |log ratio| (0 = parity). Speed is log(1 + days) from the **start of talks**
(the first public offer or the start of negotiations, ``ttd_talks``) to the deal, where
``deals.csv`` gives that start; the days from the detention of the headline captives
(``ttd``) are a different quantity (they include the war before any talks) and are shown
only as a labelled fallback. Every coefficient has a CR2 standard error clustered by dyad
with Bell–McCaffrey degrees of freedom (:func:`research.inference.cr2_fit`).

All-for-all repatriations are judged apart: a humanitarian body supervises most of them and
they sit near parity by construction (everyone goes home), so a humanitarian-body effect on
balance must hold among negotiated swaps to mean anything.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import inference as inf
from .exceptions import AnalysisError
from .randomization import signflip_test
from .stats import Result, bootstrap_ci, result_from_test

#: Names under which notebook 03 records the confirmatory H3 and H4 tests (workbook.toml).
PRIMARY_H3 = "multilateral minus bilateral |log ratio| (CR2)"
PRIMARY_H4 = "humanitarian body minus other deals, |log ratio|, negotiated swaps (CR2)"
MIN_DEALS = 6


def cr2_coef(
    df: pd.DataFrame, outcome: str, terms: list[str], term: str, name: str, hypothesis: str
) -> Result:
    """OLS of ``outcome`` on ``terms`` (0/1 or numeric); the ``term`` coefficient with a CR2 CI
    and p on Bell–McCaffrey df, clustered by dyad."""
    data = df[[outcome, "dyad", *terms]].dropna()
    x = np.column_stack([np.ones(len(data)), data[terms].astype(float).to_numpy()])
    if len(data) < MIN_DEALS or data["dyad"].nunique() < 3:
        raise AnalysisError(
            f"{name}: needs {MIN_DEALS} deals in 3 dyads; got {len(data)} in "
            f"{data['dyad'].nunique()}"
        )
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise AnalysisError(f"{name}: a term has no variation in this sample ({terms})")
    t = inf.cr2_fit(data[outcome].to_numpy(dtype=float), data["dyad"], x).test(
        1 + terms.index(term)
    )
    return result_from_test(
        name,
        t,
        n=len(data),
        n_clusters=int(data["dyad"].nunique()),
        method=f"OLS on {' + '.join(terms)}; CR2 SE by dyad, t on Bell-McCaffrey df",
        hypothesis=hypothesis,
    )


def with_speed(d: pd.DataFrame) -> pd.DataFrame:
    """Add ``log_ttd_talks`` = log(1 + days from the start of talks to the deal)."""
    return d.assign(log_ttd_talks=np.log1p(d["ttd_talks"].astype(float)))


def coverage(d: pd.DataFrame) -> pd.DataFrame:
    """How many deals have a start of talks, by its kind: the H3/H4 speed sample."""
    kinds = d["talks_start_kind"].astype(object).where(d["ttd_talks"].notna(), "not in sources")
    return kinds.value_counts().rename_axis("start of talks").rename("deals").to_frame()


def _try(fn, *args, **kwargs) -> Result | str:
    try:
        return fn(*args, **kwargs)
    except AnalysisError as exc:
        return f"not estimable: {exc}"


def h3_estimates(d: pd.DataFrame) -> dict[str, Result | str]:
    """H3: multilateral deals give more balanced ratios and close slower than bilateral ones.

    ``speed_talks`` uses days from the start of talks (where sources give it);
    ``speed_detention_fallback`` the days from detention, labelled as such.
    """
    if d["multilateral"].nunique() < 2:
        raise AnalysisError("H3 needs both bilateral and multilateral deals in the sample")
    d = with_speed(d).assign(multilateral=d["multilateral"].astype(float))
    return {
        "balance": cr2_coef(d, "abs_log_ratio", ["multilateral"], "multilateral", PRIMARY_H3, "H3"),
        "balance_negotiated": _try(
            cr2_coef,
            d[~d["all_for_all"].astype(bool)],
            "abs_log_ratio",
            ["multilateral"],
            "multilateral",
            "multilateral minus bilateral |log ratio|, negotiated swaps (CR2)",
            "H3",
        ),
        "speed_talks": _try(
            cr2_coef,
            d,
            "log_ttd_talks",
            ["multilateral"],
            "multilateral",
            "multilateral minus bilateral log(1 + days from start of talks) (CR2)",
            "H3",
        ),
        "speed_detention_fallback": _try(
            cr2_coef,
            d,
            "log_ttd",
            ["multilateral"],
            "multilateral",
            "multilateral minus bilateral log(1 + days from detention), fallback (CR2)",
            "H3",
        ),
    }


def h4_estimates(d: pd.DataFrame, n_resamples: int = 2000, seed: int = 0) -> dict:
    """H4: mediation and humanitarian bodies shift the terms and the time.

    ``humanitarian_all`` is the humanitarian-body difference in |log ratio| over all deals;
    ``humanitarian_negotiated`` (the confirmatory one) over negotiated swaps only, and
    ``humanitarian_all_for_all`` over all-for-all repatriations; ``mediated`` the difference
    for any mediation. ``ally_*``: where the mediator is allied to exactly one side, the log
    ratio seen from that side (exact cluster sign-flip and cluster bootstrap).
    """
    d = with_speed(d).assign(
        mediated=d["mediated"].astype(float), humanitarian=d["humanitarian"].astype(float)
    )
    negotiated = d[~d["all_for_all"].astype(bool)]
    aff = d[d["all_for_all"].astype(bool)]
    out: dict = {
        "humanitarian_negotiated": cr2_coef(
            negotiated, "abs_log_ratio", ["humanitarian"], "humanitarian", PRIMARY_H4, "H4"
        ),
        "humanitarian_all": _try(
            cr2_coef,
            d,
            "abs_log_ratio",
            ["humanitarian"],
            "humanitarian",
            "humanitarian body minus other deals, |log ratio|, all deals (CR2)",
            "H4",
        ),
        "humanitarian_all_for_all": _try(
            cr2_coef,
            aff,
            "abs_log_ratio",
            ["humanitarian"],
            "humanitarian",
            "humanitarian body minus other deals, |log ratio|, all-for-all only (CR2)",
            "H4",
        ),
        "mediated": _try(
            cr2_coef,
            negotiated,
            "abs_log_ratio",
            ["mediated"],
            "mediated",
            "mediated minus unmediated |log ratio|, negotiated swaps (CR2)",
            "H4",
        ),
        "speed_talks_mediated": _try(
            cr2_coef,
            d,
            "log_ttd_talks",
            ["mediated"],
            "mediated",
            "mediated minus unmediated log(1 + days from start of talks) (CR2)",
            "H4",
        ),
    }
    one = d[d["mediator_allied_a"] != d["mediator_allied_b"]].dropna(subset=["log_ratio_a"])
    one = one.assign(
        log_ratio_ally=one["log_ratio_a"].where(one["mediator_allied_a"], -one["log_ratio_a"])
    )
    if len(one) >= 3 and one["dyad"].nunique() >= 2:
        label = "log ratio of the mediator's ally"
        out["ally_signflip"] = signflip_test(
            one,
            "log_ratio_ally",
            cluster="dyad",
            seed=seed,
            name=f"{label}, exact sign-flip",
            hypothesis="H4",
        )
        out["ally_bootstrap"] = bootstrap_ci(
            one,
            lambda x: float(x["log_ratio_ally"].mean()),
            n_resamples=n_resamples,
            seed=seed,
            cluster="dyad",
            name=f"{label}, cluster bootstrap",
            hypothesis="H4",
        )
    out["ally_sample"] = one
    return out
