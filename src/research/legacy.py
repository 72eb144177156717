"""H5, from the essay: does a legacy of completed deals speed the next one and balance it?

For each deal, within its dyad and in date order: ``prior_deals`` is the number of the
dyad's earlier completed deals (a deal whose ``carried_out`` in ``deals.csv`` is
``not_carried_out`` does not count; without that field every coded deal, which by
construction had a handover, counts), ``days_since_last`` the days from the last handover
of the previous deal to this deal's first, and ``log_gap`` = log(1 + days_since_last), the
time to this "next" deal.

Identification is **within dyad**: dyad fixed effects (dummies), so a dyad that trades often
is not compared with one that traded once; only dyads with two or more deals (three for the
gap, which needs a previous deal) contribute. Standard errors are CR2 clustered by dyad with
Bell–McCaffrey df (:func:`research.inference.cr2_fit`; the fixed effects make each dyad's
residual block singular, which the pseudo-inverse square root handles, as clubSandwich).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import inference as inf
from .exceptions import AnalysisError
from .stats import Result, result_from_test

#: The name under which notebook 06 records the confirmatory H5 test (workbook.toml).
PRIMARY = "within-dyad change in log(1 + days since the last deal) per log(1 + earlier deals)"
SEQUENCES = {"Russia-Ukraine": "RUS-UKR", "Israel-Hamas": "HAMAS-ISR"}


def sequences(d: pd.DataFrame, deal_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each deal with its dyad's history: ``order``, ``prior_deals``, ``days_since_last``."""
    out = d.sort_values(["dyad", "exchange_date", "deal_id"]).copy()
    completed = pd.Series(True, index=out.index)
    if deal_table is not None and "carried_out" in deal_table.columns and not deal_table.empty:
        status = out["deal_id"].map(deal_table.set_index("deal_id")["carried_out"].astype(object))
        completed = status.ne("not_carried_out")
    out["completed"] = completed.fillna(True).astype(bool).to_numpy()
    g = out.groupby("dyad", sort=False)
    out["order"] = g.cumcount() + 1
    out["prior_deals"] = g["completed"].cumsum().astype(int) - out["completed"].astype(
        int
    )  # earlier completed deals only
    last = pd.to_datetime(out["last_date"])
    prev_last = last.groupby(out["dyad"]).shift(1)
    out["days_since_last"] = (pd.to_datetime(out["exchange_date"]) - prev_last).dt.days.astype(
        float
    )
    out["log_gap"] = np.log1p(out["days_since_last"].clip(lower=0))
    out["log_prior"] = np.log1p(out["prior_deals"].astype(float))
    return out


def _within(s: pd.DataFrame, outcome: str, terms: list[str], name: str) -> Result:
    data = s.dropna(subset=[outcome, *terms])
    sizes = data["dyad"].map(data["dyad"].value_counts())
    data = data[sizes >= 2]
    if data["dyad"].nunique() < 3:
        raise AnalysisError(
            f"{name}: needs 3 dyads with 2 or more deals; got {data['dyad'].nunique()}"
        )
    dummies = pd.get_dummies(data["dyad"], dtype=float).to_numpy()
    x = np.column_stack([data[terms].astype(float).to_numpy(), dummies])
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise AnalysisError(f"{name}: the terms do not vary within dyads")
    t = inf.cr2_fit(data[outcome].to_numpy(dtype=float), data["dyad"], x).test(0)
    return result_from_test(
        name,
        t,
        n=len(data),
        n_clusters=int(data["dyad"].nunique()),
        method=f"OLS with dyad fixed effects on {' + '.join(terms)}; CR2 by dyad, BM df",
        hypothesis="H5",
    )


def _attempt(*args) -> Result | str:
    try:
        return _within(*args)
    except AnalysisError as exc:
        return f"not estimable: {exc}"


def h5_estimates(s: pd.DataFrame) -> dict[str, Result | str]:
    """Within-dyad H5 estimates on :func:`sequences` output.

    H5 predicts: ``gap`` < 0 (more earlier deals, shorter wait for the next),
    ``balance`` < 0 (more earlier deals, smaller |log ratio|), ``balance_recency`` > 0
    (a longer time since the last deal, less balanced), ``speed_talks`` < 0 (days from the
    start of talks, where the sources give it).
    """
    return {
        "gap": _within(s[s["order"] > 1], "log_gap", ["log_prior"], PRIMARY),
        "balance": _attempt(
            s,
            "abs_log_ratio",
            ["log_prior"],
            "within-dyad change in |log ratio| per log(1 + earlier deals)",
        ),
        "balance_recency": _recency(s),
        "speed_talks": _attempt(
            s.assign(log_ttd_talks=np.log1p(s["ttd_talks"].astype(float))),
            "log_ttd_talks",
            ["log_prior"],
            "within-dyad change in log(1 + days from start of talks) per log(1 + earlier deals)",
        ),
    }


def _recency(s: pd.DataFrame) -> Result | str:
    """|log ratio| on log(1 + days since the last deal), holding the count of earlier deals."""
    name = "within-dyad change in |log ratio| per log(1 + days since the last deal)"
    try:
        data = s[s["order"] > 1]
        terms = ["log_gap", "log_prior"]
        return _within(data, "abs_log_ratio", terms, name)
    except AnalysisError as exc:
        return f"not estimable: {exc}"


def sequence_table(s: pd.DataFrame, dyad: str) -> pd.DataFrame:
    """One dyad's deals in order, with the history variables and the outcomes."""
    cols = ["order", "deal_id", "exchange_date", "prior_deals", "days_since_last",
            "log_ratio_a", "abs_log_ratio", "ttd_talks"]  # fmt: skip
    return s.loc[s["dyad"] == dyad, cols].reset_index(drop=True)


def sequence_trend(s: pd.DataFrame, dyad: str) -> dict[str, float]:
    """Within one sequence: Spearman correlation of the deal's order with the gap and with
    |log ratio| (descriptive; one dyad is one cluster, so there is no clustered test)."""
    seq = s[s["dyad"] == dyad]
    out = {"deals": len(seq)}
    for label, col in (("gap", "log_gap"), ("imbalance", "abs_log_ratio")):
        sub = seq.dropna(subset=[col])
        out[f"rho_order_{label}"] = (
            float(sub["order"].corr(sub[col], method="spearman")) if len(sub) >= 3 else np.nan
        )
        out[f"n_{label}"] = len(sub)
    return out


def conclusion(primary: Result, without: Result | str) -> str:
    """H5 in plain words, generated from the confirmatory and the without-sequences results."""

    def verdict(r: Result) -> str:
        if r.ci_high < 0:
            return "the wait for the next deal shrinks with earlier deals, as H5 predicts"
        if r.ci_low > 0:
            return "the wait grows with earlier deals, against H5"
        return "no within-dyad change is distinguishable"

    text = (
        f"Within dyads, {verdict(primary)} ({primary.estimate:.2f}, 95% CI {primary.ci_low:.2f} "
        f"to {primary.ci_high:.2f}, p = {primary.p:.2f}; {primary.n} deals in "
        f"{primary.n_clusters} dyads)."
    )
    if isinstance(without, Result):
        same = verdict(without) == verdict(primary)
        text += (
            f" Without Russia-Ukraine and Israel-Hamas: {verdict(without)} ({without.estimate:.2f},"
            f" CI {without.ci_low:.2f} to {without.ci_high:.2f}). The conclusion "
            + ("survives this check." if same else "does not survive this check.")
        )
    return text
