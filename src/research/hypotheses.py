"""The analyses behind the hypotheses, shared by the notebooks and the specification curve.

Unit of analysis for ratios and time-to-deal is the **deal** (the tranches of one agreement
summed), because a tranche's ratio is not a bargain (Shalit's second tranche returned no one).
Inference is clustered by **dyad**: Russia–Ukraine alone contributes dozens of deals.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from . import alliances as al
from . import h2
from .exceptions import AnalysisError
from .ratios import deal_ratios
from .variables import exchange_ratio, orient_by_alliance, released_counts

ERAS = ("cold_war", "post_cold_war", "since_2022")
#: A deal is a mass repatriation when each side released at least this many living persons
#: (the Korean, Iran–Iraq and Russia–Ukraine general exchanges), not a bargain over a few.
MASS_THRESHOLD = 500
#: Tranche names that mark a general repatriation rather than a negotiated swap.
ALL_FOR_ALL = r"(?i)all[- ]for[- ]all|repatriat|general (?:pow )?exchange|big[- ]switch"


# ---------------------------------------------------------------- deals


def deals(
    frame: pd.DataFrame, include_bodies: bool = False, deal_table: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Aggregate the analysis frame's tranches into deals.

    The ratio's counts come from :func:`research.ratios.deal_ratios`: the deal's totals in
    ``deal_table`` (``deals.csv``) where given, else the deal's matched tranches only
    (``ratio_source`` says which). ``summed_released_by_a``/``_b`` keep the plain sums over
    all tranches for comparison. Alliance covariates, context and dates are those of the
    first tranche, when the deal was struck. ``log_ratio_a`` is log(released by A / released
    by B), with bodies added to both sides when ``include_bodies``.

    ``all_for_all`` marks general repatriations (an "all for all" exchange, a repatriation
    or general exchange after a war, by the tranche names; :data:`ALL_FOR_ALL`): they
    measure who captured more, not who bargained better. The codebook has no field for the
    kind of deal yet, so the flag reads the names; a mass swap negotiated N for N (Istanbul
    2025) is not one.
    ``ttd_talks`` is the days from ``talks_started_on`` (first public offer or start of
    talks, ``talks_start_kind``) to the agreement, or to the first handover where no
    agreement date is coded; missing where the sources give no start of talks.
    """
    f = frame.sort_values(["exchange_date", "exchange_id"])
    g = f.groupby("deal_id", sort=False, observed=True)
    out = g.first()
    for col in ("released_by_a", "released_by_b", "bodies_by_a", "bodies_by_b"):
        out[f"summed_{col}"] = g[col].sum(min_count=1)
    out["n_tranches"] = g.size()
    ratio = deal_ratios(f, deal_table, include_bodies).reindex(out.index)
    out["released_by_a"] = ratio["ratio_released_a"].astype("Float64")
    out["released_by_b"] = ratio["ratio_released_b"].astype("Float64")
    for col in ("ratio_source", "n_matched", "counts_exact", "counts_disputed"):
        out[col] = ratio[col]
    out["counts_complete"] = ratio["counts_complete"]
    out["one_side_known"] = ratio["one_side_known"]
    out["multilateral"] = g["format"].agg(lambda s: (s.astype(object) == "multilateral").any())
    out["mediated"] = g["mediated"].any()
    out["humanitarian"] = g["humanitarian_mediator"].any()
    for side in ("a", "b"):
        out[f"mediator_allied_{side}"] = g[f"mediator_allied_{side}"].any()
    out["confidence"] = g["confidence"].min()
    out["last_date"] = g["exchange_date"].max()
    out = exchange_ratio(out, include_bodies=False)  # bodies are already in the counts
    a, b = released_counts(out, include_bodies=False)
    out["abs_log_ratio"] = out["log_ratio_a"].abs()
    out["min_released"] = pd.concat([a, b], axis=1).min(axis=1).astype("float64")
    named = g["name"].agg(lambda s: " ".join(s.astype(str)))
    by_name = (named + " " + out.index.to_series()).str.contains(ALL_FOR_ALL, regex=True)
    out["all_for_all"] = by_name.fillna(False).astype(bool)
    ttd = out[["ttd_a", "ttd_b"]].astype("float64")
    out["ttd"] = ttd.max(axis=1)  # the deal closed when its last headline captive came home
    out["log_ttd"] = np.log1p(out["ttd"])
    out = _talks(out, deal_table)
    return out.reset_index()


def _talks(out: pd.DataFrame, deal_table: pd.DataFrame | None) -> pd.DataFrame:
    """Days from the start of talks to the deal, where ``deals.csv`` gives a start."""
    out = out.copy()
    out["ttd_talks"] = np.nan
    out["talks_start_kind"] = "unknown"
    if deal_table is None or "talks_started_on" not in deal_table.columns or deal_table.empty:
        return out
    d = deal_table.set_index("deal_id").reindex(out.index)
    start = pd.to_datetime(d["talks_started_on"], errors="coerce")
    agreed = pd.to_datetime(d.get("agreement_date"), errors="coerce")
    end = agreed.fillna(pd.to_datetime(out["exchange_date"], errors="coerce"))
    days = (end - start).dt.days.astype(float)
    out["ttd_talks"] = days.where(days >= 0)
    kind = d.get("talks_start_kind", pd.Series("unknown", index=d.index)).astype(object)
    out["talks_start_kind"] = kind.where(start.notna(), "unknown").fillna("unknown")
    return out


def filter_deals(
    d: pd.DataFrame,
    *,
    start_year: int = 1945,
    end_year: int = 2100,
    state_parties_only: bool = False,
    exclude_mass_repatriations: bool = False,
    min_confidence: str = "low",
) -> pd.DataFrame:
    """The sample restrictions that notebook parameters choose."""
    levels = list(d["confidence"].cat.categories)
    if min_confidence not in levels:
        raise AnalysisError(f"min_confidence must be one of {levels}; not {min_confidence!r}")
    keep = d["year"].between(start_year, end_year)
    keep &= d["confidence"] >= min_confidence
    if state_parties_only:
        keep &= d["both_states"]
    if exclude_mass_repatriations:
        keep &= ~(d["min_released"] >= MASS_THRESHOLD)
    return d[keep].copy()


# ---------------------------------------------------------------- H1: the exchange ratio


def orient(d: pd.DataFrame, definition: str, keep_missing: bool = False) -> pd.DataFrame:
    """Orient each deal from the allied side's view; keep allied-versus-non-allied deals.

    ``log_ratio_allied`` = log(released by the allied side / released by the other). H1
    predicts it below 0: an allied state releases fewer prisoners per captive returned.
    ``released_allied``/``released_other`` are the counts behind it. Deals without a
    ratio (a missing count) are dropped unless ``keep_missing`` (for bounds).
    """
    oriented = orient_by_alliance(d, definition)
    out = oriented[oriented["asymmetry"] == "allied_vs_nonallied"].copy()
    flip = out["allied_b"]  # side B is the allied one: read the deal from B's side
    out["other_side"] = out["side_b"].where(~flip, out["side_a"])
    out["nonstate_opponent"] = out["state_vs_nonstate"].astype(bool)
    # the kind of captives the allied side got back (released by the other side)
    kind_a, kind_b = out["captive_kind_a"].astype(object), out["captive_kind_b"].astype(object)
    out["kind_returned"] = kind_b.where(~flip, kind_a)
    a, b = out["released_by_a"].astype(float), out["released_by_b"].astype(float)
    out["released_allied"] = a.where(~flip, b)
    out["released_other"] = b.where(~flip, a)
    return out if keep_missing else out.dropna(subset=["log_ratio_allied"])


# ---------------------------------------------------------------- H2: time to deal
# The H2 analysis lives in research.h2 (frame spells, competing endings, delayed
# entry, time-varying alliance status); these names keep the notebooks' entry points.

SPELL_CONTROLS = h2.SPELL_CONTROLS
spells = h2.spells


def h2_estimates(
    durations: pd.DataFrame,
    definition: str,
    kinds: Mapping[str, str],
    index: al.Memberships,
    members: pd.DataFrame,
    bound: str = "days",
) -> dict[str, object]:
    """Every H2 estimate on the frame spells (see :func:`research.h2.estimates`)."""
    return h2.estimates(durations, definition, kinds, index, members, bound)


# ---------------------------------------------------------------- the specification curve


def h2_specifications(durations: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """H2 across alliance definitions, duration bounds and controls (log HR), frame spells."""
    return h2.specifications(durations, kinds)
