"""A deal's exchange ratio, measured as the codebook asks: from the deal's agreed totals where
``deals.csv`` gives them, else from its matched tranches only.

A tranche is *matched* when both sides' counts come from the same handover: both counts are
known and both sides released someone. Summing one-sided tranches against each other mixes
handovers (Colombia–FARC 2001: the summed deal gives log(11/271) = -3.20, its one matched
tranche log(11/29) = -0.97). Every deal carries ``ratio_source`` (``deal_totals``,
``matched_tranches`` or ``none``) and flags for the measurement sensitivity checks:
``counts_exact`` (every count used is exact), ``counts_disputed`` (any is disputed) and
``counts_complete`` (the totals, or every tranche of the deal, have both counts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["RATIO_SOURCES", "deal_ratios", "manski_bounds"]

RATIO_SOURCES = ("deal_totals", "matched_tranches", "none")


def _flag(values: pd.Series) -> pd.Series:
    """A true/false column read from bools or the strings 'true'/'false' (missing: False)."""
    text = values.astype(object).map(lambda v: str(v).strip().lower() if pd.notna(v) else "")
    return text.isin(["true", "1", "yes"])


def _tranche_counts(frame: pd.DataFrame, include_bodies: bool) -> tuple[pd.Series, pd.Series]:
    out = []
    for side in ("a", "b"):
        living = pd.to_numeric(frame[f"released_by_{side}"], errors="coerce").astype(float)
        if include_bodies:
            # a side's count is known when its living or its remains count is (a remains-only
            # handover codes no living count)
            bodies = pd.to_numeric(frame[f"bodies_by_{side}"], errors="coerce").astype(float)
            known = living.notna() | bodies.notna()
            living = (living.fillna(0) + bodies.fillna(0)).where(known)
        out.append(living)
    return out[0], out[1]


def _from_tranches(frame: pd.DataFrame, include_bodies: bool) -> pd.DataFrame:
    a, b = _tranche_counts(frame, include_bodies)
    t = pd.DataFrame(
        {
            "deal_id": frame["deal_id"].to_numpy(),
            "a": a.to_numpy(),
            "b": b.to_numpy(),
            "known": (a.notna() & b.notna()).to_numpy(),
            "exact": (frame["count_precision"].astype(object) == "exact").to_numpy(),
            "disputed": _flag(frame["count_disputed"]).to_numpy(),
        }
    )
    t["matched"] = t["known"] & (t["a"] > 0) & (t["b"] > 0)
    m = t[t["matched"]]
    g, gm = t.groupby("deal_id", sort=False), m.groupby("deal_id", sort=False)
    out = pd.DataFrame(
        {
            "ratio_released_a": gm["a"].sum(),
            "ratio_released_b": gm["b"].sum(),
            "n_matched": gm.size(),
            "counts_exact": gm["exact"].all(),
            "counts_disputed": gm["disputed"].any(),
        }
    ).reindex(g.size().index)
    out["n_matched"] = out["n_matched"].fillna(0).astype(int)
    out["counts_complete"] = g["known"].all()
    # a deal with no count at all on one side, but some on the other (for Manski bounds)
    out["one_side_known"] = g["a"].apply(lambda s: s.notna().any()) | g["b"].apply(
        lambda s: s.notna().any()
    )
    out["ratio_source"] = np.where(out["n_matched"] > 0, "matched_tranches", "none")
    return out


def _from_totals(deal_table: pd.DataFrame | None, include_bodies: bool) -> pd.DataFrame:
    cols = ("total_released_by_a", "total_released_by_b")
    if deal_table is None or deal_table.empty or not set(cols) <= set(deal_table.columns):
        return pd.DataFrame(columns=["ratio_released_a", "ratio_released_b"])
    d = deal_table.set_index("deal_id")
    a = pd.to_numeric(d["total_released_by_a"], errors="coerce").astype(float)
    b = pd.to_numeric(d["total_released_by_b"], errors="coerce").astype(float)
    if include_bodies and "total_bodies_by_a" in d:
        a = a + pd.to_numeric(d["total_bodies_by_a"], errors="coerce").astype(float).fillna(0)
        b = b + pd.to_numeric(d["total_bodies_by_b"], errors="coerce").astype(float).fillna(0)
    ok = a.notna() & b.notna() & (a > 0) & (b > 0)
    exact = pd.Series(True, index=d.index)
    for side in ("a", "b"):
        col = f"totals_precision_{side}"
        if col in d:
            exact &= d[col].astype(object) == "exact"
    disputed = _flag(d["totals_disputed"]) if "totals_disputed" in d else False
    out = pd.DataFrame(
        {
            "ratio_released_a": a,
            "ratio_released_b": b,
            "counts_exact": exact,
            "counts_disputed": disputed,
            "counts_complete": True,
        }
    )
    return out[ok]


def deal_ratios(
    frame: pd.DataFrame, deal_table: pd.DataFrame | None = None, include_bodies: bool = False
) -> pd.DataFrame:
    """The counts behind each deal's ratio, indexed by ``deal_id``.

    Parameters
    ----------
    frame : DataFrame
        The tranche-level analysis frame (one row per exchange).
    deal_table : DataFrame, optional
        ``deals.csv``; its totals take precedence when both sides' totals are given and
        positive. Without it (or without totals) matched tranches are used.
    include_bodies : bool
        Add remains handed over to the persons released.

    Returns
    -------
    DataFrame
        ``ratio_released_a``/``_b``, ``log_ratio_a``, ``ratio_source``, ``n_matched``,
        ``counts_exact``, ``counts_disputed``, ``counts_complete``, ``one_side_known``.

    Examples
    --------
    >>> deal_ratios(frame).loc["2001-farc-humanitarian-accord", "ratio_source"]  # doctest: +SKIP
    'matched_tranches'
    """
    out = _from_tranches(frame, include_bodies)
    totals = _from_totals(deal_table, include_bodies)
    use = totals.index.intersection(out.index)
    for col in totals.columns:
        out.loc[use, col] = totals.loc[use, col]
    out.loc[use, "ratio_source"] = "deal_totals"
    for col in ("counts_exact", "counts_disputed", "counts_complete"):
        out[col] = out[col].astype("boolean")
    out["log_ratio_a"] = np.log(
        out["ratio_released_a"].astype(float) / out["ratio_released_b"].astype(float)
    )
    return out


def manski_bounds(values: pd.Series, n_missing: int, support: tuple[float, float]) -> dict:
    """Worst-case (Manski 1989) bounds on a mean when ``n_missing`` values are unknown.

    The unknown values are set to the ends of ``support`` (the observed range of the log
    ratio unless a narrower one is justified), so the mean over all deals lies in
    [(sum + n_missing * low) / N, (sum + n_missing * high) / N].
    """
    low, high = support
    total = float(np.nansum(values))
    n = int(values.notna().sum()) + int(n_missing)
    return {
        "n_observed": int(values.notna().sum()),
        "n_missing": int(n_missing),
        "lower": (total + n_missing * low) / n,
        "upper": (total + n_missing * high) / n,
        "support": (float(low), float(high)),
    }
