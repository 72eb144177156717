"""Derived analysis variables. Pure functions: each takes frames and returns a new one.

Codebook rules applied here: the exchange ratio for side A is released_by_a / released_by_b
over living persons (bodies only when asked); time-to-deal carries lower and upper bounds when
a date has month or year precision; alliance covariates are computed on the exchange date (for
captivities: on the detention start) from ``alliance_members``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import alliances as al
from .data import Dataset

SIDES = ("a", "b")
COVARIATES = (*al.DEFINITIONS, "n_allies")


def _last_day(d: pd.Series, precision: pd.Series) -> pd.Series:
    """The latest day a date of the given precision can stand for."""
    p = precision.astype("object")
    month_end = d + pd.offsets.MonthEnd(0)
    year_end = d + pd.offsets.YearEnd(0)
    return d.where(p == "day", month_end.where(p == "month", year_end))


def day_bounds(
    start: pd.Series, start_p: pd.Series, end: pd.Series, end_p: pd.Series
) -> pd.DataFrame:
    """Days between two imprecise dates: the point value and its lower and upper bounds.

    The point value uses the dates as coded (first of month or year). The lower bound pairs
    the latest possible start with the earliest possible end; the upper bound the reverse.
    """
    days = (end - start).dt.days
    lower = (end - _last_day(start, start_p)).dt.days.clip(lower=0)
    upper = (_last_day(end, end_p) - start).dt.days
    return pd.DataFrame({"days": days, "days_lower": lower, "days_upper": upper}).astype("Float64")


def released_counts(
    frame: pd.DataFrame, include_bodies: bool = False
) -> tuple[pd.Series, pd.Series]:
    """Persons released by side A and by side B: the living, plus remains when asked (an
    unreported body count adds nothing)."""
    a = frame["released_by_a"].astype("Float64")
    b = frame["released_by_b"].astype("Float64")
    if include_bodies:
        a = a + frame["bodies_by_a"].astype("Float64").fillna(0)
        b = b + frame["bodies_by_b"].astype("Float64").fillna(0)
    return a, b


def exchange_ratio(exchanges: pd.DataFrame, include_bodies: bool = False) -> pd.DataFrame:
    """Add ``ratio_a`` (released by A per person released by B) and ``log_ratio_a``.

    Parity under the Lieber Code art. 105 ("number for number") is a ratio of 1, log 0.
    A side that released nobody leaves the ratio undefined (missing), never infinite.
    """
    out = exchanges.copy()
    a, b = released_counts(out, include_bodies)
    valid = (a > 0) & (b > 0)
    out["ratio_a"] = (a / b).where(valid)
    out["log_ratio_a"] = np.log(out["ratio_a"].astype("float64"))
    out["total_released"] = a + b
    return out


def time_to_deal(exchanges: pd.DataFrame) -> pd.DataFrame:
    """Add time-to-deal in days for the captives each side received, with precision bounds."""
    out = exchanges.copy()
    for side in SIDES:
        b = day_bounds(
            out[f"detained_since_{side}"],
            out[f"detained_since_{side}_precision"],
            out["exchange_date"],
            out["exchange_date_precision"],
        )
        out[f"ttd_{side}"] = b["days"]
        out[f"ttd_{side}_lower"] = b["days_lower"]
        out[f"ttd_{side}_upper"] = b["days_upper"]
    return out


def dyad_id(a: pd.Series, b: pd.Series) -> pd.Series:
    """An order-free id for the pair of sides, e.g. 'RUS-UKR', for clustering."""
    return pd.Series(["-".join(sorted((x, y))) for x, y in zip(a, b)], index=a.index)


def side_parties(ds: Dataset) -> dict[tuple[str, str], tuple[str, ...]]:
    """States on each side of each exchange: the lead party, or the listed states where the
    lead party is not a state (a coalition command such as the UNC)."""
    kinds = dict(zip(ds.tables["parties"]["party_id"], ds.tables["parties"]["kind"]))
    listed: dict[tuple[str, str], list[str]] = {}
    for row in ds.tables["exchange_parties"].itertuples():
        if kinds.get(row.party_id) == "state":
            listed.setdefault((row.exchange_id, row.side), []).append(row.party_id)
    out = {}
    for row in ds.tables["exchanges"].itertuples():
        for side in SIDES:
            lead = getattr(row, f"side_{side}")
            states = listed.get((row.exchange_id, side), [])
            out[(row.exchange_id, side)] = (
                (lead,) if kinds.get(lead) == "state" or not states else tuple(states)
            )
    return out


def _side_covariates(index: al.Memberships, parties: tuple[str, ...], on: pd.Timestamp) -> dict:
    """A side with several states is allied when any of them is (n_allies: the most)."""
    covs = [index.covariates(p, on) for p in parties]
    return {k: max(c[k] for c in covs) for k in COVARIATES}


def alliance_covariates(ds: Dataset, exchanges: pd.DataFrame) -> pd.DataFrame:
    """Add each side's alliance covariates on the exchange date, whether the sides share an
    alliance, and whether a mediator is allied to side A or to side B."""
    out = exchanges.copy()
    index = al.Memberships(ds)
    sides = side_parties(ds)
    rows = []
    for row in out.itertuples():
        on = row.exchange_date
        rec = {}
        for side in SIDES:
            parties = sides.get((row.exchange_id, side), (getattr(row, f"side_{side}"),))
            for k, v in _side_covariates(index, parties, on).items():
                rec[f"{k}_{side}"] = v
        rec["shared_alliance"] = any(  # a shared defense pact
            y in index.allies(x, on, within=index.defense)
            for x in sides.get((row.exchange_id, "a"), ())
            for y in sides.get((row.exchange_id, "b"), ())
        )
        for side in SIDES:
            lead = getattr(row, f"side_{side}")
            rec[f"mediator_allied_{side}"] = any(
                lead in index.allies(m, on, within=index.defense) for m in row.mediators
            )
        rows.append(rec)
    return pd.concat([out, pd.DataFrame(rows, index=out.index)], axis=1)


def analysis_frame(ds: Dataset, include_bodies: bool = False) -> pd.DataFrame:
    """One row per exchange with every derived variable used by the notebooks."""
    kinds = dict(zip(ds.tables["parties"]["party_id"], ds.tables["parties"]["kind"]))
    ex = ds.exchanges
    out = (
        ex.pipe(exchange_ratio, include_bodies=include_bodies)
        .pipe(time_to_deal)
        .pipe(lambda f: alliance_covariates(ds, f))
    )
    out["dyad"] = dyad_id(out["side_a"], out["side_b"])
    out["year"] = out["exchange_date"].dt.year
    out["decade"] = (out["year"] // 10 * 10).astype("Int64")
    out["era"] = pd.cut(
        out["year"],
        bins=[1944, 1991, 2021, 2100],
        labels=["cold_war", "post_cold_war", "since_2022"],
    )
    out["state_vs_nonstate"] = [
        (kinds.get(a) == "state") != (kinds.get(b) == "state")
        for a, b in zip(out["side_a"], out["side_b"])
    ]
    out["both_states"] = [
        kinds.get(a) == "state" and kinds.get(b) == "state"
        for a, b in zip(out["side_a"], out["side_b"])
    ]
    out["mediated"] = out["mediator_type"].astype("object") != "none"
    out["humanitarian_mediator"] = out["mediator_type"].astype("object").isin(
        ["humanitarian", "mixed"]
    ) & out["mediators"].map(
        lambda ms: any(kinds.get(m) == "humanitarian_organization" for m in ms)
    )
    return out


def orient_by_alliance(frame: pd.DataFrame, definition: str = "defense_pact") -> pd.DataFrame:
    """Orient each exchange from the allied side's point of view.

    Adds ``allied_a``/``allied_b`` under the definition, ``asymmetry`` (allied_vs_nonallied,
    both_allied, neither_allied), and for asymmetric exchanges ``log_ratio_allied``: log of
    (released by the allied side / released by the non-allied side). H1 predicts it below 0.
    """
    if definition not in al.DEFINITIONS:
        al.is_allied({}, definition)  # raises the standard message
    out = frame.copy()
    out["allied_a"] = out[f"{definition}_a"].astype(bool)
    out["allied_b"] = out[f"{definition}_b"].astype(bool)
    both, neither = out["allied_a"] & out["allied_b"], ~out["allied_a"] & ~out["allied_b"]
    out["asymmetry"] = np.select(
        [both, neither], ["both_allied", "neither_allied"], default="allied_vs_nonallied"
    )
    flip = ~out["allied_a"] & out["allied_b"]
    out["log_ratio_allied"] = out["log_ratio_a"].where(~flip, -out["log_ratio_a"])
    out.loc[out["asymmetry"] != "allied_vs_nonallied", "log_ratio_allied"] = np.nan
    # the (possibly flipped) allied side's party, for tables
    out["allied_side"] = out["side_a"].where(~flip, out["side_b"])
    return out


COMPETING = {
    "still_held": 0,
    "exchanged": 1,
    "released_without_exchange": 2,
    "escaped": 2,
    "rescued": 2,
    "died_in_captivity": 3,
}


def captivity_durations(ds: Dataset) -> pd.DataFrame:
    """Durations of captivity spells for survival analysis.

    Adds ``days`` (to the end, or to the cutoff for still-held spells) with ``days_lower`` and
    ``days_upper`` bounds from the date precisions; ``event`` (1 when the spell ended in an
    exchange; other endings are censored at their end date); ``cause`` for competing risks
    (0 censored at the cutoff, 1 exchanged, 2 released, escaped or rescued, 3 died); and the
    alliance covariates of ``home`` and ``holder`` on the detention start date.

    A spell that ended on an unknown date (``ended_on_unknown``) is interval-censored, never
    carried to the cutoff: ``interval_censored`` is true, ``days`` is missing, and
    ``days_lower``/``days_upper`` run from the detention start to ``last_known_held`` (or to
    the start itself) and to ``ended_by``. ``entry_days`` is the delayed-entry time of a
    frame spell (``frame_entry`` minus the detention start; 0 for incidence lists, missing
    outside frames), for left-truncated estimators.
    """
    cap = ds.captivities
    end = cap["ended_on"].fillna(ds.cutoff)
    end_p = cap["ended_on_precision"].astype("object").where(cap["ended_on"].notna(), "day")
    b = day_bounds(cap["detained_since"], cap["detained_since_precision"], end, end_p)
    out = pd.concat([cap, b], axis=1)
    if "ended_on_unknown" in out:  # interval-censored: never carried to the cutoff
        unknown = out["ended_on_unknown"].fillna(False).astype(bool)
        since = out["detained_since"]
        low_end = out["last_known_held"].fillna(since)
        low = _last_day(since, cap["detained_since_precision"])
        out["interval_censored"] = unknown
        out.loc[unknown, "days"] = pd.NA
        out.loc[unknown, "days_lower"] = (low_end - low).dt.days.clip(lower=0)[unknown]
        out.loc[unknown, "days_upper"] = (out["ended_by"] - since).dt.days[unknown]
        entry = (out["frame_entry"] - since).dt.days.clip(lower=0)
        out["entry_days"] = entry.astype("Float64")
    out["event"] = (out["outcome"].astype("object") == "exchanged").astype(int)
    out["cause"] = out["outcome"].astype("object").map(COMPETING).astype(int)
    out["censored_at_cutoff"] = out["outcome"].astype("object") == "still_held"
    index = al.Memberships(ds)
    for role in ("home", "holder"):
        covs = [
            index.covariates(p, d) if pd.notna(d) else dict.fromkeys(COVARIATES)
            for p, d in zip(out[role], out["detained_since"])
        ]
        for k in COVARIATES:
            out[f"{k}_{role}"] = [c[k] for c in covs]
    out["year"] = out["detained_since"].dt.year
    return out


def missingness(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing values by field: count and share, most missing first."""
    missing = frame.isna().sum()
    if "mediators" in frame:  # an empty list is "none reported", not missing
        missing["mediators"] = 0
    out = pd.DataFrame({"missing": missing, "share": missing / max(len(frame), 1)})
    return out.sort_values("missing", ascending=False).rename_axis("field").reset_index()


def exchange_state_years(ds: Dataset, last_year: int = al.ATOP_LAST_YEAR) -> pd.DataFrame:
    """Distinct (party_id, year) of the states on a side of an exchange (the lead party, or the
    listed states of a coalition side), by exchange year, up to ``last_year``."""
    sides = side_parties(ds)
    rows = {
        (p, int(row.exchange_date.year))
        for row in ds.tables["exchanges"].itertuples()
        if pd.notna(row.exchange_date) and row.exchange_date.year <= last_year
        for side in SIDES
        for p in sides[(row.exchange_id, side)]
    }
    kinds = dict(zip(ds.tables["parties"]["party_id"], ds.tables["parties"]["kind"]))
    rows = sorted(r for r in rows if kinds.get(r[0]) == "state")
    return pd.DataFrame(rows, columns=["party_id", "year"])


def atop_agreement(ds: Dataset) -> pd.DataFrame:
    """The project's defense-pact indicator against ATOP 5.1's, exchange-side state-year by
    state-year (1945-2018): ``project_value`` is an active defense-pact spell on any day of the
    year (ATOP's year convention), ``atop_value`` ATOP's state-year indicator (False where
    ATOP has no row for the state-year), and ``agree``."""
    index = al.Memberships(ds)
    atop = {
        (p, int(y)): bool(v)
        for p, y, v in zip(
            ds.tables["atop_defense_state_years"]["party_id"],
            ds.tables["atop_defense_state_years"]["year"],
            ds.tables["atop_defense_state_years"]["atop_defense"],
        )
    }
    out = exchange_state_years(ds)
    out["project_value"] = [index.defense_in_year(p, y) for p, y in zip(out.party_id, out.year)]
    out["atop_value"] = [atop.get((p, y), False) for p, y in zip(out.party_id, out.year)]
    out["agree"] = out["project_value"] == out["atop_value"]
    return out
